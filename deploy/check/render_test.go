package check

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// namespace is the one every doc and manifest uses.
const namespace = "auditrelay"

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join("..", "helm", "auditrelay")
	// auditrelayBin is built once by TestMain, from the repository's source.
	auditrelayBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-check")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	auditrelayBin = filepath.Join(dir, "auditrelay")
	build := exec.Command("go", "build", "-o", auditrelayBin, "./cmd/auditrelay")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building auditrelay: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// kustomize renders dir as `kubectl apply -k` does, with the kustomize
// library that kubectl embeds.
func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// helmBin is the helm that `make deploy-check` builds. Unset is a failure,
// not a skip: a CI run that lost the variable must not pass unchecked.
func helmBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("HELM")
	if p == "" {
		t.Fatal("HELM is not set: run `make deploy-check` (part of `make e2e`), which builds helm and passes its path")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("HELM=%s: %v", p, err)
	}
	return p
}

// helm runs the helm CLI with its config, cache and data directories in a
// temporary directory, so that it neither reads nor writes the user's.
func helm(t *testing.T, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home+"/config",
		"HELM_CACHE_HOME="+home+"/cache", "HELM_DATA_HOME="+home+"/data")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// helmTemplate renders the chart as the docs install it: release auditrelay
// in the namespace auditrelay, with one values file from testdata (or none).
func helmTemplate(t *testing.T, values string, set ...string) []byte {
	t.Helper()
	args := []string{"template", "auditrelay", chartDir, "-n", namespace}
	if values != "" {
		args = append(args, "-f", filepath.Join("testdata", values))
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, stderr, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// appVersion is the chart's, which the image tag defaults to.
func appVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml: no appVersion (%v)", err)
	}
	return c.AppVersion
}

// want is what one render must hold besides the checks every render gets.
type want struct {
	kinds    []string // sorted
	image    string
	replicas int32
	// Secrets the pod reads that the render does not hold: they are created
	// with kubectl beforehand, as the docs say.
	external []string
}

var (
	baseKinds    = []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"}
	withMonitor  = []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount", "ServiceMonitor"}
	withSecret   = []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"}
	withoutClaim = []string{"ConfigMap", "Deployment", "Service", "ServiceAccount"}
)

func TestKustomize(t *testing.T) {
	for _, c := range []struct {
		dir  string
		want want
	}{
		{"base", want{kinds: baseKinds, image: "REGISTRY/auditrelay:VERSION", replicas: 1, external: []string{"auditrelay-openai"}}},
		{"overlays/prometheus-operator", want{kinds: withMonitor, image: "REGISTRY/auditrelay:VERSION", replicas: 1, external: []string{"auditrelay-openai"}}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			objs, err := decodeStrict(kustomize(t, filepath.Join("..", "kubernetes", c.dir)))
			if err != nil {
				t.Fatal(err)
			}
			checkRender(t, objs, c.want)
		})
	}
}

func TestHelmTemplate(t *testing.T) {
	dev := "REGISTRY/auditrelay:" + appVersion(t)
	for _, c := range []struct {
		name, values string
		want         want
	}{
		{"defaults", "", want{kinds: baseKinds, image: dev, replicas: 1, external: []string{"auditrelay-openai"}}},
		{"existing secret", "existing-secret.yaml", want{kinds: baseKinds, image: "registry.example.com/auditrelay:v1.2.3", replicas: 1, external: []string{"openai-keys"}}},
		{"secret created by the chart", "created-secret.yaml", want{kinds: withSecret, image: dev, replicas: 1}},
		{"ServiceMonitor on", "servicemonitor.yaml", want{kinds: withMonitor, image: dev, replicas: 1, external: []string{"auditrelay-openai"}}},
		{"replicas through Kafka", "kafka-ha.yaml", want{kinds: withoutClaim, image: dev, replicas: 2, external: []string{"auditrelay-openai"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs, err := decodeStrict(helmTemplate(t, c.values))
			if err != nil {
				t.Fatal(err)
			}
			checkRender(t, objs, c.want)
		})
	}
}

// checkRender checks what every render must hold: the objects refer to each
// other correctly, and the config in the ConfigMap is one auditrelay
// accepts with the environment the Deployment gives it.
func checkRender(t *testing.T, o *objects, w want) {
	t.Helper()
	got := slices.Sorted(slices.Values(o.Kinds))
	if !slices.Equal(got, w.kinds) {
		t.Errorf("kinds %v, want %v", got, w.kinds)
	}
	for i, m := range o.Meta {
		if m.Namespace != namespace {
			t.Errorf("%s %s: namespace %q, want %q", o.Kinds[i], m.Name, m.Namespace, namespace)
		}
	}
	if len(o.Deployments) != 1 {
		t.Fatalf("%d Deployments, want 1", len(o.Deployments))
	}
	d := o.Deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != w.image {
		t.Errorf("image %q, want %q", c.Image, w.image)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != w.replicas {
		t.Errorf("replicas %v, want %d", d.Spec.Replicas, w.replicas)
	}

	podLabels := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("the Deployment's selector %v does not select its pods %v (%v)", d.Spec.Selector, podLabels, err)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, probe := range map[string]string{"liveness": "/healthz", "readiness": "/readyz"} {
		p := c.LivenessProbe
		if name == "readiness" {
			p = c.ReadinessProbe
		}
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != probe || ports[p.HTTPGet.Port.StrVal] == 0 {
			t.Errorf("%s probe: want GET %s on a named container port", name, probe)
		}
	}

	if len(o.Services) != 1 {
		t.Fatalf("%d Services, want 1", len(o.Services))
	}
	svc := o.Services[0]
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("the Service's selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if ports[p.TargetPort.StrVal] == 0 {
			t.Errorf("Service port %s: targetPort %s is no named container port", p.Name, p.TargetPort.String())
		}
	}
	for _, sm := range o.ServiceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("the ServiceMonitor's selector %v does not select the Service %v (%v)", sm.Spec.Selector, svc.Labels, err)
		}
		if len(sm.Spec.Endpoints) == 0 {
			t.Error("ServiceMonitor without endpoints")
		}
		for _, e := range sm.Spec.Endpoints {
			if !svcPorts[e.Port] || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint %s%s: want a Service port name and /metrics", e.Port, e.Path)
			}
		}
	}

	if !slices.ContainsFunc(o.ServiceAccounts, func(sa *corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName }) {
		t.Errorf("serviceAccountName %q: no such ServiceAccount in the render", pod.ServiceAccountName)
	}

	// Volumes: the ConfigMap and claim named exist; a volume on a claim means
	// one replica at a time.
	mounts := map[string]string{} // volume name -> mount path
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			mounts[m.Name] = m.MountPath
		} else {
			mounts[m.Name] = "ro:" + m.MountPath
		}
	}
	var configText, configDir string
	writable := map[string]bool{} // mount paths of writable volumes
	for _, v := range pod.Volumes {
		path := mounts[v.Name]
		if path == "" {
			t.Errorf("volume %s is mounted nowhere", v.Name)
		}
		if !strings.HasPrefix(path, "ro:") {
			writable[path] = true
		}
		switch {
		case v.ConfigMap != nil:
			i := slices.IndexFunc(o.ConfigMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == v.ConfigMap.Name })
			if i < 0 {
				t.Errorf("volume %s: no ConfigMap %s in the render", v.Name, v.ConfigMap.Name)
				continue
			}
			configText = o.ConfigMaps[i].Data["auditrelay.yaml"]
			configDir = strings.TrimPrefix(path, "ro:")
		case v.PersistentVolumeClaim != nil:
			if !slices.ContainsFunc(o.Claims, func(pvc *corev1.PersistentVolumeClaim) bool { return pvc.Name == v.PersistentVolumeClaim.ClaimName }) {
				t.Errorf("volume %s: no PersistentVolumeClaim %s in the render", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
			if w.replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
				t.Errorf("a claim with %d replicas and strategy %q: two pods must never share a checkpoint volume", w.replicas, d.Spec.Strategy.Type)
			}
		}
	}
	if configText == "" {
		t.Fatal("no ConfigMap volume with auditrelay.yaml")
	}
	if !slices.Contains(c.Args, configDir+"/auditrelay.yaml") {
		t.Errorf("args %v do not name %s/auditrelay.yaml", c.Args, configDir)
	}

	// The environment: each secretKeyRef names a Secret of the render that
	// has the key, or one created beforehand.
	env := []string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			value := "test-" + ref.Key
			i := slices.IndexFunc(o.Secrets, func(s *corev1.Secret) bool { return s.Name == ref.Name })
			switch {
			case i >= 0:
				v, ok := o.Secrets[i].Data[ref.Key]
				if !ok {
					t.Errorf("env %s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
				}
				value = string(v)
			case !slices.Contains(w.external, ref.Name):
				t.Errorf("env %s: Secret %s is neither in the render nor one the docs create", e.Name, ref.Name)
			}
			env = append(env, e.Name+"="+value)
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		}
	}

	checkConfig(t, configText, env, ports["metrics"], writable)
}

// checkConfig checks the rendered auditrelay config against the pod (it
// listens on the metrics port beyond loopback, file checkpoints go to a
// writable volume, since the root file system is read-only) and runs
// `auditrelay validate` on it with the pod's environment only.
func checkConfig(t *testing.T, text string, env []string, metricsPort int32, writable map[string]bool) {
	t.Helper()
	var cfg struct {
		Checkpoint struct {
			Type string `json:"type"`
			Dir  string `json:"dir"`
		} `json:"checkpoint"`
		Server struct {
			Listen string `json:"listen"`
		} `json:"server"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("auditrelay.yaml: %v", err)
	}
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil || port != fmt.Sprint(metricsPort) {
		t.Errorf("server.listen %q: want the metrics port %d (%v)", cfg.Server.Listen, metricsPort, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		t.Errorf("server.listen %q: loopback, unreachable for the probes", cfg.Server.Listen)
	}
	if cfg.Checkpoint.Type == "file" && !writable[cfg.Checkpoint.Dir] {
		t.Errorf("checkpoint.dir %q is not a writable volume's mount path (%v)", cfg.Checkpoint.Dir, writable)
	}

	file := filepath.Join(t.TempDir(), "auditrelay.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(auditrelayBin, "validate", "-c", file)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("auditrelay validate with env %v: %v\n%s", names(env), err, out)
	}
}

// names drops the values of NAME=value pairs: test keys or not, a failure
// message prints no value of a Secret.
func names(env []string) []string {
	var out []string
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		out = append(out, name)
	}
	return out
}
