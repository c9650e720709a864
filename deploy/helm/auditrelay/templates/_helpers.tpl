{{/* The chart's name, or nameOverride. */}}
{{- define "auditrelay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: the release name when it already contains the chart's
(so a release named auditrelay gives deploy/auditrelay, as the plain
manifests do), else release-chart. 63 characters: a DNS label.
*/}}
{{- define "auditrelay.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "auditrelay.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "auditrelay.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "auditrelay.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "auditrelay.selectorLabels" . }}
app.kubernetes.io/component: relay
app.kubernetes.io/version: {{ include "auditrelay.tag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the pods: they must never change between upgrades. */}}
{{- define "auditrelay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "auditrelay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "auditrelay.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "auditrelay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "auditrelay.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "auditrelay.claimName" -}}
{{- default (printf "%s-state" (include "auditrelay.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
Refuses values that would run but lose or duplicate data: several replicas
need Kafka checkpoints with coordination and no shared file state; the
probes need server.listen on the metrics port.
*/}}
{{- define "auditrelay.check" -}}
{{- $cfg := .Values.config | default dict }}
{{- $cp := $cfg.checkpoint | default dict }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- if or (ne ($cp.type | default "") "kafka") (not $cp.coordination) }}
{{- fail "replicaCount > 1 needs config.checkpoint.type kafka with a coordination section (docs/operations.md, \"High availability with Kafka\"): with file checkpoints every replica would deliver every event" }}
{{- end }}
{{- if .Values.persistence.enabled }}
{{- fail "replicaCount > 1: set persistence.enabled false (Kafka holds the cursors; a ReadWriteOnce volume cannot be shared)" }}
{{- end }}
{{- end }}
{{- $listen := (($cfg.server | default dict).listen | default "") | toString }}
{{- if or (not (hasSuffix (printf ":%v" .Values.metrics.port) $listen)) (hasPrefix "127." $listen) (hasPrefix "localhost:" $listen) (hasPrefix "[::1]:" $listen) }}
{{- fail (printf "config.server.listen is %q: it must listen on metrics.port (%v) beyond loopback, e.g. 0.0.0.0:%v, for the probes and Prometheus" $listen .Values.metrics.port .Values.metrics.port) }}
{{- end }}
{{- if .Values.secret.create }}
{{- range $var, $key := .Values.secretEnv }}
{{- if not (hasKey $.Values.secret.data $key) }}
{{- fail (printf "secretEnv.%s reads key %q, which secret.data does not have" $var $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
