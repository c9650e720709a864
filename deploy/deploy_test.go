// Static checks of the container image recipe, the compose file and the
// Kubernetes manifests. No Docker engine or cluster runs in CI, so these
// parse the files and check what an SRE relies on.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// docs parses every YAML document of path.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

// get walks m along keys (strings for maps, ints for lists).
func get(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, users []string
	var final []string // instructions of the last stage
	sc := bufio.NewScanner(bytes.NewReader(bytes.ReplaceAll(data, []byte("\\\n"), []byte(" "))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr := strings.ToUpper(strings.Fields(line)[0])
		switch instr {
		case "FROM":
			froms = append(froms, line)
			final = nil
		case "USER":
			users = append(users, line)
		}
		final = append(final, line)
	}
	all := string(data)
	lastStage := strings.Join(final, "\n")
	checks := []struct {
		name string
		ok   bool
	}{
		{"multi-stage", len(froms) >= 2},
		{"builder named and copied from", strings.Contains(froms[0], " AS build") && strings.Contains(lastStage, "COPY --from=build")},
		{"build stage cross-compiles on the build platform", strings.Contains(froms[0], "--platform=$BUILDPLATFORM") && strings.Contains(all, "GOARCH=${TARGETARCH}")},
		{"static build: CGO_ENABLED=0", strings.Contains(all, "CGO_ENABLED=0")},
		{"version stamped by ldflags", regexp.MustCompile(`-X main\.version=\$\{VERSION\}`).MatchString(all)},
		{"reproducible paths: -trimpath", strings.Contains(all, "-trimpath")},
		{"final stage distroless or scratch", strings.Contains(froms[len(froms)-1], "distroless/static") || strings.Contains(froms[len(froms)-1], "scratch")},
		{"final stage runs as a numeric non-root user", regexp.MustCompile(`(?m)^USER [1-9][0-9]*(:[0-9]+)?$`).MatchString(lastStage)},
		{"state directory is a volume", strings.Contains(lastStage, `VOLUME ["/var/lib/auditrelay"]`)},
		{"state directory owned by the user", strings.Contains(lastStage, "--chown=65532:65532")},
		{"no shell form entrypoint", strings.Contains(lastStage, `ENTRYPOINT ["/usr/local/bin/auditrelay"]`)},
		{"metrics port exposed", strings.Contains(lastStage, "EXPOSE 9464")},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("Dockerfile fails: %s", c.name)
			}
		})
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "state/"} {
		if !strings.Contains(string(ignore), want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

func TestCompose(t *testing.T) {
	// Where the compose plugin exists, let it validate the file too.
	if docker, err := exec.LookPath("docker"); err == nil && exec.Command(docker, "compose", "version").Run() == nil {
		if out, err := exec.Command(docker, "compose", "-f", "docker-compose.yaml", "config", "-q").CombinedOutput(); err != nil {
			t.Errorf("docker compose config: %v\n%s", err, out)
		}
	} else {
		t.Log("docker compose not available: structural checks only")
	}
	d := docs(t, "docker-compose.yaml")
	if len(d) != 1 {
		t.Fatalf("want one YAML document, got %d", len(d))
	}
	c := d[0]
	svc := func(name string) map[string]any {
		s, _ := get(c, "services", name).(map[string]any)
		if s == nil {
			t.Fatalf("service %s missing", name)
		}
		return s
	}
	kafka, otel, sim, relay := svc("kafka"), svc("otel-collector"), svc("simulator"), svc("auditrelay")
	env := func(s map[string]any, k string) string { v, _ := get(s, "environment", k).(string); return v }
	str := func(v any) string { s, _ := v.(string); return s }
	joined := func(v any) string {
		l, _ := v.([]any)
		var parts []string
		for _, x := range l {
			parts = append(parts, str(x))
		}
		return strings.Join(parts, " ")
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"kafka runs in KRaft mode", strings.Contains(env(kafka, "KAFKA_PROCESS_ROLES"), "controller") && env(kafka, "KAFKA_CONTROLLER_QUORUM_VOTERS") != ""},
		{"kafka allows transactions on one broker", env(kafka, "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR") == "1"},
		{"kafka has a health check", get(kafka, "healthcheck", "test") != nil},
		{"collector image", strings.Contains(str(otel["image"]), "opentelemetry-collector")},
		{"collector config mounted", strings.Contains(joined(otel["volumes"]), "./compose/otelcol.yaml:")},
		{"simulator serves the API", strings.HasPrefix(joined(sim["command"]), "simulate --listen 0.0.0.0:")},
		{"auditrelay built from the repository", str(get(relay, "build", "context")) == ".."},
		{"auditrelay runs its mounted config", strings.Contains(joined(relay["command"]), "/etc/auditrelay/auditrelay.yaml") &&
			strings.Contains(joined(relay["volumes"]), "./compose/auditrelay.yaml:/etc/auditrelay/auditrelay.yaml:ro")},
		{"auditrelay state on a volume", strings.Contains(joined(relay["volumes"]), "auditrelay-state:/var/lib/auditrelay") && get(c, "volumes") != nil},
		{"auditrelay read-only and non-root", relay["read_only"] == true && str(relay["user"]) == "65532:65532"},
		{"auditrelay waits for a healthy kafka", str(get(relay, "depends_on", "kafka", "condition")) == "service_healthy"},
		{"metrics published on loopback only", strings.HasPrefix(joined(relay["ports"]), "127.0.0.1:9464:")},
	}
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if !ch.ok {
				t.Errorf("docker-compose.yaml fails: %s", ch.name)
			}
		})
	}

	// The mounted configs point at the compose services.
	rc := docs(t, "compose/auditrelay.yaml")[0]
	t.Run("auditrelay config wires simulator, kafka and collector", func(t *testing.T) {
		if !strings.HasPrefix(str(get(rc, "sources", 0, "base_url")), "http://simulator:8080/") {
			t.Errorf("source base_url %v", get(rc, "sources", 0, "base_url"))
		}
		types := map[string]any{}
		for i := range 4 {
			if typ := str(get(rc, "sinks", i, "type")); typ != "" {
				types[typ] = get(rc, "sinks", i)
			}
		}
		if str(get(types["kafka"], "brokers", 0)) != "kafka:9092" {
			t.Errorf("kafka sink brokers %v", get(types["kafka"], "brokers"))
		}
		if !strings.HasPrefix(str(get(types["otlp"], "endpoint")), "otel-collector:4317") {
			t.Errorf("otlp sink endpoint %v", get(types["otlp"], "endpoint"))
		}
		if str(get(rc, "server", "listen")) != "0.0.0.0:9464" {
			t.Errorf("server.listen %v: must listen beyond loopback inside the container", get(rc, "server", "listen"))
		}
		if !strings.HasPrefix(str(get(rc, "sources", 0, "api_key")), "${env:") {
			t.Error("the key must come from the environment")
		}
	})
	oc := docs(t, "compose/otelcol.yaml")[0]
	t.Run("collector receives OTLP logs", func(t *testing.T) {
		if get(oc, "receivers", "otlp", "protocols", "grpc") == nil || get(oc, "service", "pipelines", "logs", "receivers") == nil {
			t.Errorf("otelcol.yaml: no OTLP logs pipeline")
		}
	})
}

func TestKubernetesManifests(t *testing.T) {
	// kubernetes/base, kubernetes/overlays/* and the Secret example.
	// deploy/check renders them with kustomize and decodes the result
	// strictly; these are the checks that need only the files.
	var files []string
	err := filepath.WalkDir("kubernetes", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byKind := map[string][]map[string]any{}
	for _, f := range files {
		for _, d := range docs(t, f) {
			kind, _ := d["kind"].(string)
			if kind == "" {
				t.Errorf("%s: a document without kind", f)
			}
			if kind != "Kustomization" && get(d, "metadata", "name") == nil {
				t.Errorf("%s: %s without metadata.name", f, kind)
			}
			// The base must apply on a cluster without the Prometheus
			// Operator, whose CRDs define this kind.
			if kind == "ServiceMonitor" && strings.HasPrefix(filepath.ToSlash(f), "kubernetes/base/") {
				t.Errorf("%s: a ServiceMonitor in the base", f)
			}
			byKind[kind] = append(byKind[kind], d)
		}
	}
	for _, kind := range []string{"Deployment", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "ServiceMonitor", "ServiceAccount", "Kustomization"} {
		if len(byKind[kind]) == 0 {
			t.Errorf("no %s manifest", kind)
		}
	}
	if len(byKind["Deployment"]) != 1 {
		t.Fatalf("want one Deployment, got %d", len(byKind["Deployment"]))
	}
	dep := byKind["Deployment"][0]
	pod := get(dep, "spec", "template", "spec")
	if get(pod, "enableServiceLinks") != false {
		t.Error("the pod takes Kubernetes's service links: AUDITRELAY_PORT and the like would be read as config overrides")
	}
	ctr := get(pod, "containers", 0)
	probe := func(kind string) string {
		p, _ := get(ctr, kind, "httpGet", "path").(string)
		return p
	}
	envFromSecret := false
	for i := range 10 {
		if get(ctr, "env", i, "valueFrom", "secretKeyRef", "name") == "auditrelay-openai" {
			envFromSecret = true
		}
	}
	mountedAt := func(path string) bool {
		for i := range 10 {
			if get(ctr, "volumeMounts", i, "mountPath") == path {
				return true
			}
		}
		return false
	}
	cm := byKind["ConfigMap"][0]
	cfgText, _ := get(cm, "data", "auditrelay.yaml").(string)
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(cfgText), &cfg); err != nil {
		t.Fatalf("ConfigMap auditrelay.yaml: %v", err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"pod runs as non-root", get(pod, "securityContext", "runAsNonRoot") == true && get(ctr, "securityContext", "runAsNonRoot") == true},
		{"numeric non-root uid", get(pod, "securityContext", "runAsUser") == 65532},
		{"read-only root file system", get(ctr, "securityContext", "readOnlyRootFilesystem") == true},
		{"no privilege escalation", get(ctr, "securityContext", "allowPrivilegeEscalation") == false},
		{"all capabilities dropped", get(ctr, "securityContext", "capabilities", "drop", 0) == "ALL"},
		{"liveness on /healthz", probe("livenessProbe") == "/healthz"},
		{"readiness on /readyz", probe("readinessProbe") == "/readyz"},
		{"key from the Secret", envFromSecret},
		{"cpu and memory requests", get(ctr, "resources", "requests", "cpu") != nil && get(ctr, "resources", "requests", "memory") != nil},
		{"memory limit", get(ctr, "resources", "limits", "memory") != nil},
		{"state on the PVC", mountedAt("/var/lib/auditrelay") && get(pod, "volumes", 1, "persistentVolumeClaim", "claimName") == get(byKind["PersistentVolumeClaim"][0], "metadata", "name")},
		{"config from the ConfigMap", mountedAt("/etc/auditrelay")},
		{"one replica, recreated (file checkpoints are not shared)", get(dep, "spec", "replicas") == 1 && get(dep, "spec", "strategy", "type") == "Recreate"},
		{"grace period covers the shutdown drain", get(pod, "terminationGracePeriodSeconds").(int) > 30},
		{"config listens beyond loopback", strings.HasPrefix(get(cfg, "server", "listen").(string), "0.0.0.0:")},
		{"config checkpoints on the volume", get(cfg, "checkpoint", "dir") == "/var/lib/auditrelay"},
		{"config reads the key from the env", strings.HasPrefix(get(cfg, "sources", 0, "api_key").(string), "${env:")},
		{"ServiceMonitor scrapes /metrics", get(byKind["ServiceMonitor"][0], "spec", "endpoints", 0, "path") == "/metrics"},
		{"Secret example holds no real key", strings.Contains(get(byKind["Secret"][0], "stringData", "admin-key").(string), "REPLACE")},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("manifests fail: %s", c.name)
			}
		})
	}
}

// TestShippedConfigsValidate runs `auditrelay validate` on every config a
// user is handed: the examples, the compose demo's, the ConfigMap's and the
// README's first one. A key that no longer exists, or moved, fails here
// rather than in a user's first run.
func TestShippedConfigsValidate(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "auditrelay")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/auditrelay").CombinedOutput(); err != nil {
		t.Fatalf("building auditrelay: %v\n%s", err, out)
	}
	configs, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(configs) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	configs = append(configs, "compose/auditrelay.yaml")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, d := range docs(t, "kubernetes/base/configmap.yaml") {
		if text, ok := get(d, "data", "auditrelay.yaml").(string); ok {
			configs = append(configs, write("configmap.yaml", text))
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile("(?s)```yaml\n(# auditrelay.yaml\nsources:.*?)```").FindSubmatch(readme); m != nil {
		configs = append(configs, write("readme.yaml", string(m[1])))
	} else {
		t.Error("README.md: no config block beginning `# auditrelay.yaml`")
	}
	if len(configs) < 5 {
		t.Fatalf("only %d configs found: %v", len(configs), configs)
	}
	for _, c := range configs {
		t.Run(filepath.Base(c), func(t *testing.T) {
			cmd := exec.Command(bin, "validate", "-c", c)
			cmd.Env = append(os.Environ(), "OPENAI_ADMIN_KEY=sk-admin-test", "DD_API_KEY=dd-test",
				"SPLUNK_HEC_TOKEN=hec-test", "KAFKA_PASSWORD=kafka-test")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("auditrelay validate -c %s: %v\n%s", c, err, out)
			}
		})
	}
}

// TestDocsOneNamespace: every kubectl and helm command in the docs, the
// manifests' comments and the chart's notes uses the namespace auditrelay,
// written the same way (`kubectl -n auditrelay ...`, `helm ... -n
// auditrelay`), creates the one Secret name, and names paths that exist; the
// image line the docs tell a newcomer to change is in the Deployment once.
func TestDocsOneNamespace(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sum") || strings.HasSuffix(path, ".mod") {
			return err
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tmplNS := "{{ .Release.Namespace }}"
	kubectl := regexp.MustCompile("kubectl [^`\\n]*")
	helmCmd := regexp.MustCompile("helm (install|upgrade|uninstall) [^`\\n]*")
	applyK := regexp.MustCompile(`apply -k (\S+)`)
	secret := regexp.MustCompile(`create secret generic (\S+)`)
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			where := fmt.Sprintf("%s:%d", f, i+1)
			for _, cmd := range kubectl.FindAllString(line, -1) {
				fields := strings.Fields(cmd)
				if len(fields) < 3 {
					continue // prose such as "`kubectl describe` shows"
				}
				seen++
				ns := strings.Join(fields[1:3], " ")
				if cmd != "kubectl create namespace auditrelay" && ns != "-n auditrelay" && !strings.HasPrefix(cmd, "kubectl -n "+tmplNS) {
					t.Errorf("%s: %q: want `kubectl -n auditrelay ...` (or `kubectl create namespace auditrelay`)", where, cmd)
				}
				if m := applyK.FindStringSubmatch(cmd); m != nil {
					if _, err := os.Stat(filepath.Join("..", m[1], "kustomization.yaml")); err != nil {
						t.Errorf("%s: %q: %v", where, cmd, err)
					}
				}
				if m := secret.FindStringSubmatch(cmd); m != nil && m[1] != "auditrelay-openai" && !strings.HasPrefix(m[1], "{{") {
					t.Errorf("%s: %q: the Secret is auditrelay-openai everywhere", where, cmd)
				}
			}
			for _, cmd := range helmCmd.FindAllString(line, -1) {
				seen++
				if !strings.Contains(cmd, " -n auditrelay") && !strings.Contains(cmd, " -n "+tmplNS) {
					t.Errorf("%s: %q: want -n auditrelay", where, cmd)
				}
				if strings.Contains(cmd, "--create-namespace") {
					t.Errorf("%s: %q: the namespace is created with kubectl, as for the manifests", where, cmd)
				}
				if strings.Contains(cmd, "deploy/helm/") && !strings.Contains(cmd+" ", "deploy/helm/auditrelay ") {
					t.Errorf("%s: %q: the chart is deploy/helm/auditrelay", where, cmd)
				}
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d kubectl and helm commands found: the walk-through moved?", seen)
	}

	const imageLine = "image: REGISTRY/auditrelay:VERSION"
	dep, err := os.ReadFile("kubernetes/base/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(dep), imageLine); n != 1 || !strings.Contains(string(ops), imageLine) {
		t.Errorf("%q: %d times in the Deployment (want 1), named in docs/operations.md: %v", imageLine, n, strings.Contains(string(ops), imageLine))
	}
}
