package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that the chart and the overlay
// write, with the CRD's field names. It is not in k8s.io/api, and the
// operator's Go module would bring controller-runtime along; decoding is
// strict, so a field the manifests start to use must be added here after
// checking the CRD.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kinds maps apiVersion and kind to the type a document decodes into. A
// pair not listed (a wrong apiVersion, a kind the manifests should not
// have) is an error.
var kinds = map[string]func() any{
	"apps/v1 Deployment":       func() any { return new(appsv1.Deployment) },
	"v1 ConfigMap":             func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                func() any { return new(corev1.Secret) },
	"v1 Service":               func() any { return new(corev1.Service) },
	"v1 ServiceAccount":        func() any { return new(corev1.ServiceAccount) },
	"v1 PersistentVolumeClaim": func() any { return new(corev1.PersistentVolumeClaim) },
	"monitoring.coreos.com/v1 ServiceMonitor": func() any { return new(serviceMonitor) },
}

// objects is one render: every object by kind, in the order rendered.
type objects struct {
	Deployments     []*appsv1.Deployment
	ConfigMaps      []*corev1.ConfigMap
	Secrets         []*corev1.Secret
	Services        []*corev1.Service
	ServiceAccounts []*corev1.ServiceAccount
	Claims          []*corev1.PersistentVolumeClaim
	ServiceMonitors []*serviceMonitor
	Kinds           []string // kind of each object, in order
	Meta            []*metav1.ObjectMeta
}

// decodeStrict splits a multi-document YAML stream and decodes each
// document into its Kubernetes type with sigs.k8s.io/yaml's UnmarshalStrict:
// YAML to JSON, then encoding/json with DisallowUnknownFields, and duplicate
// keys refused. A misspelled field, a field at the wrong level or a value of
// the wrong type is an error naming the document.
func decodeStrict(data []byte) (*objects, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	out := &objects{}
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if s := string(bytes.TrimSpace(j)); s == "null" || s == "" {
			continue // only comments, or an empty document between separators
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		key := tm.APIVersion + " " + tm.Kind
		newObj, ok := kinds[key]
		if !ok {
			return nil, fmt.Errorf("document %d: unexpected %q", i, key)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, key, err)
		}
		out.Kinds = append(out.Kinds, tm.Kind)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			out.Deployments = append(out.Deployments, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		case *corev1.ConfigMap:
			out.ConfigMaps = append(out.ConfigMaps, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		case *corev1.Secret:
			out.Secrets = append(out.Secrets, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		case *corev1.Service:
			out.Services = append(out.Services, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		case *corev1.ServiceAccount:
			out.ServiceAccounts = append(out.ServiceAccounts, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		case *corev1.PersistentVolumeClaim:
			out.Claims = append(out.Claims, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		case *serviceMonitor:
			out.ServiceMonitors = append(out.ServiceMonitors, o)
			out.Meta = append(out.Meta, &o.ObjectMeta)
		}
	}
}
