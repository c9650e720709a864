// Package check holds the tests of deploy/: the Helm chart rendered by
// `helm template` with several value sets, and the kustomize base and
// overlay rendered as `kubectl apply -k` would, each decoded strictly into
// the Kubernetes API types (a misspelled field or a wrong type fails), their
// objects checked against each other (selectors, ports, names, the Secret
// and the volume they use), and every rendered auditrelay config run through
// `auditrelay validate`.
//
// It is a module of its own so that k8s.io/api and kustomize stay out of
// auditrelay's go.mod. It runs from `make deploy-check`, part of `make e2e`,
// which builds helm and passes its path in HELM. It is not for checks that
// need only the files: deploy/deploy_test.go, in the main module, has those.
package check
