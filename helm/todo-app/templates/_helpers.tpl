{{/*
Helpers shared by every template: names, labels, the image, security contexts,
probes and the decisions that depend on database.mode. Templates call these
instead of repeating label blocks or security settings.

Many helpers take a "component context": (dict "root" $ "component" "web").
*/}}

{{/* Chart name, used in app.kubernetes.io/name. */}}
{{- define "todo-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every object name: the release name, so that release "todo" gives
todo-api, todo-web, todo-mcp (the names BACKEND_URL and MCP_URL use).
Truncated to 40 characters to leave room for suffixes such as "-postgresql".
*/}}
{{- define "todo-app.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Object name of one component: <fullname>-<component>. */}}
{{- define "todo-app.componentName" -}}
{{- printf "%s-%s" (include "todo-app.fullname" .root) .component -}}
{{- end -}}

{{/* helm.sh/chart label value. */}}
{{- define "todo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select every pod of the release (never change them after install). */}}
{{- define "todo-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The app.kubernetes.io/* set put on every object. */}}
{{- define "todo-app.labels" -}}
helm.sh/chart: {{ include "todo-app.chart" . }}
{{ include "todo-app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "todo-app.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: todo
{{- end -}}

{{/* Selector labels of one component (component context). */}}
{{- define "todo-app.componentSelectorLabels" -}}
{{ include "todo-app.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component's objects and pods (component context). */}}
{{- define "todo-app.componentLabels" -}}
{{ include "todo-app.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image tag: image.tag, or the chart's appVersion. */}}
{{- define "todo-app.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{/* The application image reference; a digest, when given, pins it. */}}
{{- define "todo-app.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository (include "todo-app.imageTag" .) .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "todo-app.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* Port each role listens on (the application's defaults; PORT is set to the same value). */}}
{{- define "todo-app.port" -}}
{{- $ports := dict "web" 3000 "api" 8000 "mcp" 8001 "postgresql" 5432 -}}
{{- index $ports . -}}
{{- end -}}

{{/* ServiceAccount name. */}}
{{- define "todo-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "todo-app.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret the pods read: created by the chart or provided by the operator. */}}
{{- define "todo-app.secretName" -}}
{{- default (printf "%s-secrets" (include "todo-app.fullname" .)) .Values.secret.existingSecret -}}
{{- end -}}

{{/* Name of the Secret holding VAPID_PRIVATE_KEY: push.existingSecret, else the release's Secret. */}}
{{- define "todo-app.pushSecretName" -}}
{{- .Values.push.existingSecret | default (include "todo-app.secretName" .) -}}
{{- end -}}

{{/*
Name of a key in the Secret (dict "root" . "key" "databaseUrl"): secret.keys, so that a Secret
made with other key names (the Phase IV guides' database-url, openai-api-key, better-auth-secret)
is used as it is. The environment variable the pod sees keeps our name.
*/}}
{{- define "todo-app.secretKey" -}}
{{- index .root.Values.secret.keys .key -}}
{{- end -}}

{{/* Host name of the in-chart PostgreSQL (its headless Service). */}}
{{- define "todo-app.postgresHost" -}}
{{- include "todo-app.componentName" (dict "root" . "component" "postgresql") -}}
{{- end -}}

{{/*
checksum/secret pod annotation: the rendered Secret when the chart creates it;
otherwise only the name of the existing Secret is known (rotate its content with
`kubectl rollout restart`, see docs/SECRETS.md).
*/}}
{{- define "todo-app.secretChecksum" -}}
{{- if .Values.secret.create -}}
{{- include (print .Template.BasePath "/secret.yaml") . | sha256sum -}}
{{- else -}}
{{- include "todo-app.secretName" . | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* "true" when the backend runs on SQLite. */}}
{{- define "todo-app.sqlite" -}}
{{- if eq .Values.database.mode "sqlite" -}}true{{- end -}}
{{- end -}}

{{/* "true" when this component is the backend in SQLite mode (one replica, Recreate, no HPA/PDB). */}}
{{- define "todo-app.singleReplica" -}}
{{- if and (eq .component "api") (eq .root.Values.database.mode "sqlite") -}}true{{- end -}}
{{- end -}}

{{/* "true" when an HPA scales this component (component context). */}}
{{- define "todo-app.autoscaled" -}}
{{- $values := index .root.Values .component -}}
{{- if and $values.autoscaling.enabled (not (include "todo-app.singleReplica" .)) -}}true{{- end -}}
{{- end -}}

{{/* Fixed replica count of a component that is not autoscaled (component context). */}}
{{- define "todo-app.replicas" -}}
{{- if include "todo-app.singleReplica" . -}}
1
{{- else -}}
{{- (index .root.Values .component).replicaCount -}}
{{- end -}}
{{- end -}}

{{/* "true" when a PodDisruptionBudget protects this component: enabled and more than one replica. */}}
{{- define "todo-app.pdbEnabled" -}}
{{- $values := index .root.Values .component -}}
{{- $replicas := int (include "todo-app.replicas" .) -}}
{{- if include "todo-app.autoscaled" . -}}
{{- $replicas = int $values.autoscaling.minReplicas -}}
{{- end -}}
{{- if and $values.podDisruptionBudget.enabled (not (include "todo-app.singleReplica" .)) (gt $replicas 1) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the migration Job is rendered (PostgreSQL modes only). */}}
{{- define "todo-app.migrationJob" -}}
{{- if and .Values.migrations.job.enabled (ne .Values.database.mode "sqlite") -}}true{{- end -}}
{{- end -}}

{{/*
Hook events of the migration Job. It can run before install only when the
database and the Secret exist before the release does (external database,
existing Secret). With the in-chart PostgreSQL, or a Secret the chart creates,
nothing exists yet at pre-install: the backend migrates at start instead
(MIGRATE_ON_START, serialised by a PostgreSQL advisory lock) and the Job
migrates before every upgrade, so new pods never meet an old schema.
*/}}
{{- define "todo-app.migrationHook" -}}
{{- if and (eq .Values.database.mode "external") (not .Values.secret.create) -}}
pre-install,pre-upgrade
{{- else -}}
pre-upgrade
{{- end -}}
{{- end -}}

{{/* MIGRATE_ON_START for the backend: false only when the Job migrates before install and upgrade. */}}
{{- define "todo-app.migrateOnStart" -}}
{{- if and (include "todo-app.migrationJob" .) (eq (include "todo-app.migrationHook" .) "pre-install,pre-upgrade") -}}
false
{{- else -}}
true
{{- end -}}
{{- end -}}

{{/* Pod securityContext (Pod Security "restricted"); argument: the UID/GID. */}}
{{- define "todo-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container securityContext (Pod Security "restricted"); argument: the UID/GID. */}}
{{- define "todo-app.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* UID/GID the application image runs as (distroless nonroot). */}}
{{- define "todo-app.appUid" -}}65532{{- end -}}

{{/* The writable /tmp every app pod gets (the root filesystem is read-only). */}}
{{- define "todo-app.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{/* Startup, liveness and readiness probes on the role's HTTP port (root context). */}}
{{- define "todo-app.httpProbes" -}}
{{- $probes := .Values.probes -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ $probes.startup.periodSeconds }}
  timeoutSeconds: {{ $probes.startup.timeoutSeconds }}
  failureThreshold: {{ $probes.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ $probes.liveness.periodSeconds }}
  timeoutSeconds: {{ $probes.liveness.timeoutSeconds }}
  failureThreshold: {{ $probes.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: {{ $probes.readiness.periodSeconds }}
  timeoutSeconds: {{ $probes.readiness.timeoutSeconds }}
  failureThreshold: {{ $probes.readiness.failureThreshold }}
{{- end -}}

{{/*
Scheduling of a Deployment's pods (component context): nodeSelector,
tolerations, affinity (the component's own, else the chart's anti-affinity
setting) and topology spread.
*/}}
{{- define "todo-app.scheduling" -}}
{{- $values := index .root.Values .component -}}
{{- $scheduling := .root.Values.scheduling -}}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $values.affinity }}
affinity:
  {{- toYaml $values.affinity | nindent 2 }}
{{- else if eq $scheduling.podAntiAffinity "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "todo-app.componentSelectorLabels" . | nindent 14 }}
{{- else if eq $scheduling.podAntiAffinity "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "todo-app.componentSelectorLabels" . | nindent 12 }}
{{- end }}
{{- if $scheduling.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range $scheduling.topologySpread.constraints }}
  - topologyKey: {{ .topologyKey }}
    maxSkew: {{ .maxSkew }}
    whenUnsatisfiable: {{ .whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "todo-app.componentSelectorLabels" $ | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The web UI's public origin (PUBLIC_WEB_URL): mail.webUrl, else the Ingress's host; empty when neither is set.
*/}}
{{- define "todo-app.publicWebUrl" -}}
{{- if .Values.mail.webUrl -}}
{{- .Values.mail.webUrl -}}
{{- else if .Values.ingress.host -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host -}}
{{- end -}}
{{- end -}}

{{/*
Cross-field checks the JSON schema cannot express. Called from configmap.yaml,
which every render includes, so `helm template`, `helm lint` and `helm install`
all fail with the same message.
*/}}
{{- define "todo-app.validate" -}}
{{- $v := .Values -}}
{{- $keyNames := values $v.secret.keys -}}
{{- if ne (len (uniq $keyNames)) (len $keyNames) -}}
{{- fail (printf "secret.keys names one Secret key for two values (%s): give each its own key" (join ", " (sortAlpha $keyNames))) -}}
{{- end -}}
{{- if and $v.secret.create $v.secret.existingSecret -}}
{{- fail "secret.existingSecret is set but secret.create is true: either let the chart create the Secret (development) or set secret.create=false and reference your own Secret" -}}
{{- end -}}
{{- if and (not $v.secret.create) (or $v.secret.authSecret $v.secret.postgresPassword $v.secret.llmApiKey $v.secret.smtpUrl $v.secret.vapidPrivateKey) -}}
{{- fail "secret.authSecret, secret.postgresPassword, secret.llmApiKey, secret.smtpUrl and secret.vapidPrivateKey are only used when secret.create=true; with an existing Secret put AUTH_SECRET, POSTGRES_PASSWORD, LLM_API_KEY, SMTP_URL and VAPID_PRIVATE_KEY in that Secret, under the key names of secret.keys (see docs/SECRETS.md)" -}}
{{- end -}}
{{- if $v.push.enabled -}}
{{- if not $v.push.subject -}}
{{- fail "push.enabled needs push.subject (VAPID_SUBJECT): a mailto: or https: URL push services may write to, such as mailto:ops@example.com" -}}
{{- end -}}
{{- if and $v.push.existingSecret $v.secret.vapidPrivateKey -}}
{{- fail "secret.vapidPrivateKey and push.existingSecret are both set: give the VAPID key in one place (push.existingSecret holds it under secret.keys.vapidPrivateKey)" -}}
{{- end -}}
{{- else if or $v.push.existingSecret $v.secret.vapidPrivateKey -}}
{{- fail "push.existingSecret or secret.vapidPrivateKey is set but push.enabled is false: set push.enabled=true (with push.subject) to send Web Push" -}}
{{- end -}}
{{- if $v.mail.enabled -}}
{{- if not $v.mail.from -}}
{{- fail "mail.enabled needs mail.from (MAIL_FROM), such as \"Todo <todo@example.com>\"" -}}
{{- end -}}
{{- if not (include "todo-app.publicWebUrl" .) -}}
{{- fail "mail.enabled needs mail.webUrl or ingress.host: reset links point at the web UI's public address" -}}
{{- end -}}
{{- if and $v.secret.create (not $v.secret.smtpUrl) -}}
{{- fail "mail.enabled with secret.create=true needs secret.smtpUrl (smtp://… or smtps://…)" -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (not $v.mail.egress.ipBlocks) -}}
{{- fail "mail.enabled needs mail.egress.ipBlocks: the mail server's address range(s), for the backend's NetworkPolicy egress" -}}
{{- end -}}
{{- else if $v.secret.smtpUrl -}}
{{- fail "secret.smtpUrl is set but mail.enabled is false: set mail.enabled=true (with mail.from) to send reset mails" -}}
{{- end -}}
{{- if and $v.database.external.url (or (ne $v.database.mode "external") (not $v.secret.create)) -}}
{{- fail "database.external.url is only used with database.mode=external and secret.create=true; otherwise put DATABASE_URL in the existing Secret (under the key secret.keys.databaseUrl)" -}}
{{- end -}}
{{- if and (eq $v.database.mode "external") $v.secret.create (not $v.database.external.url) -}}
{{- fail "database.mode=external with secret.create=true needs database.external.url (postgres://user:pass@host:5432/db)" -}}
{{- end -}}
{{- if and (eq $v.database.mode "external") $v.networkPolicy.enabled (not $v.database.external.cidrs) -}}
{{- fail "database.mode=external needs database.external.cidrs: the address range(s) of the database, for the backend's NetworkPolicy egress (keep them narrow: not the pod network)" -}}
{{- end -}}
{{- range $egress := list "llmEgress" "oidcEgress" "webhookEgress" "pushEgress" -}}
{{- range $index, $block := (get $v.networkPolicy $egress).ipBlocks -}}
{{- $cidr := splitList "/" $block.cidr -}}
{{- $cidrBits := include "todo-app.ipBits" (first $cidr) -}}
{{- $cidrLength := last $cidr | atoi -}}
{{- range $except := $block.except | default (list) -}}
{{- $range := splitList "/" $except -}}
{{- $bits := include "todo-app.ipBits" (first $range) -}}
{{- if or (ne (len $bits) (len $cidrBits)) (le (last $range | atoi) $cidrLength) (not (hasPrefix (trunc $cidrLength $cidrBits) $bits)) -}}
{{- fail (printf "networkPolicy.%s.ipBlocks[%d]: except %s is not a smaller range inside cidr %s, which Kubernetes requires. If you used --set networkPolicy.%s.ipBlocks[0].cidr=..., it kept the default except list: give the whole list in a values file or with --set-json" $egress $index $except $block.cidr $egress) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (not $v.config.passwordLogin) (not $v.config.oidc.issuer) -}}
{{- fail "config.passwordLogin=false needs config.oidc.issuer: otherwise nobody could sign in" -}}
{{- end -}}
{{- if and $v.config.oidc.issuer (not $v.config.oidc.clientId) -}}
{{- fail "config.oidc.issuer needs config.oidc.clientId (and OIDC_CLIENT_SECRET in the Secret: secret.oidcClientSecret with secret.create=true)" -}}
{{- end -}}
{{- if and (not $v.secret.create) $v.secret.oidcClientSecret -}}
{{- fail "secret.oidcClientSecret is only used when secret.create=true; with an existing Secret put OIDC_CLIENT_SECRET in that Secret (see docs/SECRETS.md)" -}}
{{- end -}}
{{- $llmPort := include "todo-app.llmEgressPort" . | int -}}
{{- if and (include "todo-app.llmBaseUrl" .) (or (lt $llmPort 1) (gt $llmPort 65535)) -}}
{{- fail (printf "the port of the LLM URL (%d) is not a TCP port: fix config.llm.baseUrl or set networkPolicy.llmEgress.port" $llmPort) -}}
{{- end -}}
{{- if and $v.ingress.enabled $v.ingress.tls.enabled (not $v.ingress.host) -}}
{{- fail "ingress.tls.enabled needs ingress.host (the name the certificate is issued for)" -}}
{{- end -}}
{{- if and $v.ingress.tls.enabled (not $v.ingress.tls.secretName) -}}
{{- fail "ingress.tls.enabled needs ingress.tls.secretName (the Secret cert-manager writes the certificate to)" -}}
{{- end -}}
{{- if le (int $v.terminationGracePeriodSeconds) (add (int $v.config.shutdownDrainSeconds) 20 | int) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than config.shutdownDrainSeconds + 20 (%d): pods need time to drain and finish in-flight requests" (int $v.terminationGracePeriodSeconds) (add (int $v.config.shutdownDrainSeconds) 20 | int)) -}}
{{- end -}}
{{- if and $v.web.service.nodePort (eq $v.web.service.type "ClusterIP") -}}
{{- fail "web.service.nodePort needs web.service.type NodePort or LoadBalancer" -}}
{{- end -}}
{{- range $component := list "web" "api" "mcp" -}}
{{- $autoscaling := (index $v $component).autoscaling -}}
{{- if gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas) -}}
{{- fail (printf "%s.autoscaling.minReplicas (%d) is greater than maxReplicas (%d)" $component (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* NetworkPolicy peer: pods of one component of this release (component context). */}}
{{- define "todo-app.netpolComponentPeer" -}}
- podSelector:
    matchLabels:
      {{- include "todo-app.componentSelectorLabels" . | nindent 6 }}
{{- end -}}

{{/* NetworkPolicy peer: pods in other namespaces (dict with namespaceSelector and podSelector). */}}
{{- define "todo-app.netpolPeer" -}}
- namespaceSelector:
    {{- toYaml .namespaceSelector | nindent 4 }}
  podSelector:
    {{- toYaml .podSelector | nindent 4 }}
{{- end -}}

{{/*
The LLM the backend calls, as the backend decides (Sources/todo/Settings.swift): config.llm.baseUrl, or
OpenAI's API when only LLM_API_KEY is set (here: secret.llmApiKey in the chart-made Secret); empty when
the offline agent answers. The chart cannot see an existing Secret, so there the URL must be given.
*/}}
{{- define "todo-app.llmBaseUrl" -}}
{{- if .Values.config.llm.baseUrl -}}
{{- .Values.config.llm.baseUrl -}}
{{- else if and .Values.secret.create .Values.secret.llmApiKey -}}
https://api.openai.com/v1
{{- end -}}
{{- end -}}

{{/* The bits of an IPv4 or IPv6 address, as a string of 32 or 128 "0" and "1" characters. */}}
{{- define "todo-app.ipBits" -}}
{{- if contains ":" . -}}
{{- $nibbles := dict "0" "0000" "1" "0001" "2" "0010" "3" "0011" "4" "0100" "5" "0101" "6" "0110" "7" "0111" "8" "1000" "9" "1001" "a" "1010" "b" "1011" "c" "1100" "d" "1101" "e" "1110" "f" "1111" -}}
{{- $halves := splitList "::" (lower .) -}}
{{- $head := without (splitList ":" (first $halves)) "" -}}
{{- $tail := list -}}
{{- if gt (len $halves) 1 -}}
{{- $tail = without (splitList ":" (last $halves)) "" -}}
{{- end -}}
{{- $groups := $head -}}
{{- range until (sub 8 (add (len $head) (len $tail)) | int) -}}
{{- $groups = append $groups "0" -}}
{{- end -}}
{{- range concat $groups $tail -}}
{{- range splitList "" (printf "%s%s" (repeat (sub 4 (len .) | int) "0") .) -}}
{{- get $nibbles . -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- range splitList "." . -}}
{{- printf "%08b" (atoi .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* TCP port of the LLM egress: networkPolicy.llmEgress.port, else the URL's port, else 443 (https) or 80 (http). */}}
{{- define "todo-app.llmEgressPort" -}}
{{- include "todo-app.urlPort" (dict "port" .Values.networkPolicy.llmEgress.port "url" (include "todo-app.llmBaseUrl" .)) -}}
{{- end -}}

{{/* TCP port of the OpenID Connect provider's egress: networkPolicy.oidcEgress.port, else the issuer URL's port, else 443. */}}
{{- define "todo-app.oidcEgressPort" -}}
{{- include "todo-app.urlPort" (dict "port" .Values.networkPolicy.oidcEgress.port "url" .Values.config.oidc.issuer) -}}
{{- end -}}

{{/* `port` when set, else the port of `url`: its explicit one, else 443 (https) or 80 (http). */}}
{{- define "todo-app.urlPort" -}}
{{- $port := int .port -}}
{{- if not $port -}}
{{- $url := urlParse (.url | default "https://unset") -}}
{{- $port = regexFind ":[0-9]+$" $url.host | trimPrefix ":" | default (ternary "443" "80" (eq $url.scheme "https")) | int -}}
{{- end -}}
{{- $port -}}
{{- end -}}

{{/* A NetworkPolicy egress rule to address ranges (`blocks`, ipBlocks) on TCP `ports` (a list). */}}
{{- define "todo-app.netpolRangeEgress" -}}
- to:
    {{- range .blocks }}
    - ipBlock:
        cidr: {{ .cidr }}
        {{- with .except }}
        except:
          {{- toYaml . | nindent 10 }}
        {{- end }}
    {{- end }}
  ports:
    {{- range .ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end -}}

{{/* NetworkPolicy egress rule to the database: the in-chart PostgreSQL or the external CIDRs (root context). */}}
{{- define "todo-app.netpolDatabaseEgress" -}}
{{- if eq .Values.database.mode "postgres" -}}
- to:
    {{- include "todo-app.netpolComponentPeer" (dict "root" . "component" "postgresql") | nindent 4 }}
  ports:
    - protocol: TCP
      port: 5432
{{- else if eq .Values.database.mode "external" -}}
- to:
    {{- range .Values.database.external.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ .Values.database.external.port }}
{{- end -}}
{{- end -}}
