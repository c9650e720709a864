package check

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"
)

// TestChartMatchesManifests: with its defaults the chart deploys what the
// plain manifests do (the same pod security, probes, resources, environment,
// volumes, config and claim), so that the two ways in the docs do not drift.
func TestChartMatchesManifests(t *testing.T) {
	base, err := decodeStrict(kustomize(t, filepath.Join("..", "kubernetes", "base")))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := decodeStrict(helmTemplate(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Deployments) != 1 || len(chart.Deployments) != 1 || len(base.Claims) != 1 || len(chart.Claims) != 1 ||
		len(base.ConfigMaps) != 1 || len(chart.ConfigMaps) != 1 || len(base.Services) != 1 || len(chart.Services) != 1 {
		t.Fatal("want one Deployment, PersistentVolumeClaim, ConfigMap and Service in each")
	}
	bd, cd := base.Deployments[0].Spec, chart.Deployments[0].Spec
	bp, cp := bd.Template.Spec, cd.Template.Spec
	bc, cc := bp.Containers[0], cp.Containers[0]
	same := func(what string, a, b any) {
		t.Helper()
		if !apiequality.Semantic.DeepEqual(a, b) {
			t.Errorf("%s differs:\nmanifests %+v\nchart     %+v", what, a, b)
		}
	}
	same("replicas", bd.Replicas, cd.Replicas)
	same("strategy", bd.Strategy, cd.Strategy)
	same("pod securityContext", bp.SecurityContext, cp.SecurityContext)
	same("automountServiceAccountToken", bp.AutomountServiceAccountToken, cp.AutomountServiceAccountToken)
	same("enableServiceLinks", bp.EnableServiceLinks, cp.EnableServiceLinks)
	same("terminationGracePeriodSeconds", bp.TerminationGracePeriodSeconds, cp.TerminationGracePeriodSeconds)
	same("volumes", bp.Volumes, cp.Volumes)
	same("container securityContext", bc.SecurityContext, cc.SecurityContext)
	same("args", bc.Args, cc.Args)
	same("env", bc.Env, cc.Env)
	same("ports", bc.Ports, cc.Ports)
	same("liveness probe", bc.LivenessProbe, cc.LivenessProbe)
	same("readiness probe", bc.ReadinessProbe, cc.ReadinessProbe)
	same("resources", bc.Resources, cc.Resources)
	same("volume mounts", bc.VolumeMounts, cc.VolumeMounts)
	same("imagePullPolicy", bc.ImagePullPolicy, cc.ImagePullPolicy)
	same("claim", base.Claims[0].Spec, chart.Claims[0].Spec)
	same("Service ports", base.Services[0].Spec.Ports[0].TargetPort, chart.Services[0].Spec.Ports[0].TargetPort)
	if b, c := strings.Split(bc.Image, ":")[0], strings.Split(cc.Image, ":")[0]; b != c {
		t.Errorf("image repository: manifests %s, chart %s", b, c)
	}
	var bcfg, ccfg map[string]any
	if err := yaml.Unmarshal([]byte(base.ConfigMaps[0].Data["auditrelay.yaml"]), &bcfg); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(chart.ConfigMaps[0].Data["auditrelay.yaml"]), &ccfg); err != nil {
		t.Fatal(err)
	}
	same("auditrelay config", bcfg, ccfg)
}

// TestHelmRefuses: values that would run but deliver twice, or never turn
// ready, stop the install with a message saying what to set.
func TestHelmRefuses(t *testing.T) {
	for _, c := range []struct {
		name, values string
		set          []string
		want         string
	}{
		{"two replicas on file checkpoints", "", []string{"replicaCount=2"}, "needs config.checkpoint.type kafka with a coordination section"},
		{"two replicas on one claim", "kafka-ha.yaml", []string{"persistence.enabled=true"}, "set persistence.enabled false"},
		{"listen on loopback", "", []string{"config.server.listen=127.0.0.1:9464"}, "beyond loopback"},
		{"metrics port without listen", "", []string{"metrics.port=9000"}, "must listen on metrics.port (9000)"},
		{"created Secret without the key", "", []string{"secret.create=true"}, `reads key "admin-key", which secret.data does not have`},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"template", "auditrelay", chartDir, "-n", namespace}
			if c.values != "" {
				args = append(args, "-f", filepath.Join("testdata", c.values))
			}
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			_, stderr, err := helm(t, args...)
			if err == nil || !strings.Contains(string(stderr), c.want) {
				t.Errorf("helm template with %v: err %v, want an error with %q; stderr:\n%s", c.set, err, c.want, stderr)
			}
		})
	}
}

// TestHelmNotes: the notes after an install name the Secret and the
// commands in the documented namespace, and never show a key.
func TestHelmNotes(t *testing.T) {
	const key = "sk-admin-must-not-appear-in-notes"
	for _, c := range []struct {
		name string
		set  []string
		want []string
	}{
		{"existing secret", nil, []string{
			"kubectl -n auditrelay create secret generic auditrelay-openai --from-literal=admin-key=...",
			"kubectl -n auditrelay logs deploy/auditrelay",
			"image.repository is still the placeholder",
		}},
		{"created secret", []string{"secret.create=true", "secret.data.admin-key=" + key}, []string{
			"kubectl -n auditrelay logs deploy/auditrelay",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"install", "auditrelay", chartDir, "-n", namespace, "--dry-run=client"}
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			out, stderr, err := helm(t, args...)
			if err != nil {
				t.Fatalf("helm %v: %v\n%s", args, err, stderr)
			}
			_, notes, ok := strings.Cut(string(out), "\nNOTES:\n")
			if !ok {
				t.Fatalf("no NOTES in:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			if strings.Contains(notes, key) || strings.Contains(notes, base64.StdEncoding.EncodeToString([]byte(key))) {
				t.Errorf("NOTES show the key:\n%s", notes)
			}
			// The key sits only in the Secret, encoded.
			if strings.Contains(string(out), key) {
				t.Error("the key appears in clear in the rendered release")
			}
		})
	}
}

func TestHelmLint(t *testing.T) {
	out, stderr, err := helm(t, "lint", "--strict", chartDir)
	if err != nil {
		t.Errorf("helm lint --strict: %v\n%s%s", err, out, stderr)
	}
}
