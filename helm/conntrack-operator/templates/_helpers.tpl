{{/*
Name of the cluster-scoped objects (ClusterRoles, bindings, the admission policy) and of the
operator's own objects: the release name when it already says "conntrack-operator", else
"<release>-conntrack-operator", so two releases never fight over one ClusterRole.
*/}}
{{- define "conntrack.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{- define "conntrack.labels" -}}
app.kubernetes.io/part-of: conntrack-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* Selector of the operator pod: immutable in a Deployment, so only stable labels. */}}
{{- define "conntrack.operatorSelector" -}}
app.kubernetes.io/name: conntrack-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "conntrack.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The agents run the same image unless agent.image names another one. */}}
{{- define "conntrack.agentImage" -}}
{{ .Values.agent.image | default (include "conntrack.image" .) }}
{{- end }}

{{- define "conntrack.agentUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ .Values.agent.serviceAccountName }}
{{- end }}

{{/* The operators' leader election Lease in the release namespace (OperatorConfig: conntrack.leader-election.lease-name). */}}
{{- define "conntrack.leaseName" -}}
conntrack-operator
{{- end }}
