// deploy/kubernetes validated offline: every object against the vendored schemas of deploy/schemas (Kubernetes
// v1.31 and the CRDs, pinned), then the wiring between objects: ports, probes, selectors, the endpoint picker's
// metrics and plugins, the autoscaler's query, the shared read-only adapters volume.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const manifestsDir = path.join(root, 'deploy/kubernetes');
const schemasDir = path.join(root, 'deploy/schemas');

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };
type Loaded = { file: string; object: K8sObject };

// ---------------------------------------------------------------------------------------------------------
// Strict, except that oneOf/if branches may require properties declared next to them.
const ajv = new Ajv.default({ allErrors: true, strict: true, strictRequired: false });
for (const file of readdirSync(schemasDir).filter((name) => name.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(path.join(schemasDir, file), 'utf8')));
}
const schemaIndex = (JSON.parse(readFileSync(path.join(schemasDir, 'index.json'), 'utf8')) as { kinds: Record<string, string> }).kinds;
const schemaBase = 'https://adaptd.invalid/schemas/';

/** Errors of one object against the schema for its apiVersion and kind; a kind without a schema is an error. */
function schemaErrors(object: { apiVersion?: unknown; kind?: unknown }): string[] {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  const ref = schemaIndex[key];
  if (!ref) return [`no schema for ${key} in deploy/schemas/index.json`];
  const validate = ajv.getSchema(schemaBase + ref);
  if (!validate) throw new Error(`deploy/schemas/index.json points at ${ref}, which is not loaded`);
  if (validate(object)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

function loadManifests(): Loaded[] {
  const loaded: Loaded[] = [];
  for (const file of readdirSync(manifestsDir).filter((name) => name.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(readFileSync(path.join(manifestsDir, file), 'utf8'))) {
      if (document.errors.length) throw new Error(`${file}: ${document.errors.map(String).join('; ')}`);
      const object = document.toJS() as K8sObject | null;
      if (object) loaded.push({ file, object });
    }
  }
  return loaded;
}

const manifests = loadManifests();
const objects = manifests.map((m) => m.object).filter((o) => o.kind !== 'Kustomization');
function find(kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found;
}
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
const flagValue = (args: string[], flag: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
};

const server = find('Deployment', 'adaptd');
const pod = server.spec.template;
const container = pod.spec.containers.find((c: any) => c.name === 'adaptd');
const httpPort = container.ports.find((p: any) => p.name === 'http');
const env = Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
/** A probe's or a Service's port, named or numbered, as the container port number it reaches. */
const containerPortOf = (port: string | number) => (typeof port === 'number' ? port : container.ports.find((p: any) => p.name === port)?.containerPort);

// ---------------------------------------------------------------------------------------------------------
t.test('every manifest validates against the pinned Kubernetes and CRD schemas', async (t) => {
  t.ok(manifests.length >= 10, `${manifests.length} objects`);
  for (const { file, object } of manifests) {
    t.same(schemaErrors(object), [], `${file}: ${object.apiVersion} ${object.kind} ${object.metadata?.name ?? ''}`);
  }
  const epp = find('ConfigMap', 'adaptd-epp-config');
  for (const [key, text] of Object.entries<string>(epp.data)) {
    t.same(schemaErrors(parse(text)), [], `ConfigMap adaptd-epp-config ${key}: EndpointPickerConfig`);
  }
});

t.test('the schemas reject what the API server would reject', async (t) => {
  const clone = <T>(value: T): T => structuredClone(value);
  const pool = clone(find('InferencePool', 'adaptd'));
  delete pool.spec.targetPorts;
  t.ok(schemaErrors(pool).some((e) => e.includes('targetPorts')), 'InferencePool without targetPorts');
  const noPort = clone(find('InferencePool', 'adaptd'));
  delete noPort.spec.endpointPickerRef.port;
  t.not(schemaErrors(noPort).length, 0, 'endpointPickerRef to a Service without a port (CRD CEL rule)');
  const typo = clone(server);
  typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
  t.ok(schemaErrors(typo).some((e) => e.includes('readinesProbe')), 'a misspelt container field');
  const twoHandlers = clone(server);
  twoHandlers.spec.template.spec.containers[0].livenessProbe.tcpSocket = { port: 8080 };
  t.not(schemaErrors(twoHandlers).length, 0, 'a probe with two handlers');
  const scaled = clone(find('ScaledObject', 'adaptd'));
  scaled.spec.triggers[0].metadata.threshold = 4;
  t.ok(schemaErrors(scaled).some((e) => e.includes('threshold')), 'an unquoted number in KEDA trigger metadata');
  const badLabel = clone(find('Service', 'adaptd'));
  badLabel.metadata.labels!['app.kubernetes.io/name'] = 'not a label value';
  t.not(schemaErrors(badLabel).length, 0, 'an invalid label value');
  t.same(schemaErrors({ apiVersion: 'v1', kind: 'Secret' }), ['no schema for v1/Secret in deploy/schemas/index.json'], 'an object of a kind without a schema');
  const eppConfig = parse(find('ConfigMap', 'adaptd-epp-config').data['epp-config.yaml']);
  eppConfig.plugins[1].type = 'lora-afinity-scorer';
  t.not(schemaErrors(eppConfig).length, 0, 'a misspelt endpoint picker plugin');
});

t.test('kustomization lists exactly the manifest files, with a pinned image', async (t) => {
  const kustomization = manifests.find((m) => m.object.kind === 'Kustomization')!.object;
  const files = readdirSync(manifestsDir).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml');
  t.same([...kustomization.resources].sort(), files.sort());
  const image = kustomization.images.find((i: any) => i.name === container.image);
  t.ok(image, `the Deployment's image "${container.image}" is set by the kustomization`);
  t.match(image.newTag ?? image.digest, /^(\d+\.\d+\.\d+|sha256:)/, 'a version or digest, not latest');
  for (const o of objects) {
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      if (c.image !== container.image) t.match(c.image, /:v?\d+\.\d+\.\d+$|@sha256:/, `${o.metadata.name}/${c.name} image pinned`);
    }
  }
});

t.test('the model server: GPU, probes on /health, draining, shared memory', async (t) => {
  t.equal(httpPort?.containerPort, 8080, 'http port 8080, as the image EXPOSEs and ADAPTD_PORT defaults');
  t.equal(String(container.resources.limits['nvidia.com/gpu']), '1', 'one GPU per pod');
  t.equal(env.ADAPTD_GPU, 'cuda');
  t.notOk(env.ADAPTD_HOST, 'listens on the image default 0.0.0.0');
  const vaultKey = container.env.find((e: any) => e.name === 'ADAPTD_VAULT_KEY');
  t.ok(vaultKey?.valueFrom?.secretKeyRef?.name, 'every pod takes the pseudonymisation key from one Secret, so fakes agree across pods');
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const probe = container[kind];
    t.equal(probe?.httpGet?.path, '/health', `${kind} path`);
    t.equal(containerPortOf(probe?.httpGet?.port), httpPort.containerPort, `${kind} hits the container port`);
  }
  const startupBudget = container.startupProbe.periodSeconds * container.startupProbe.failureThreshold;
  t.ok(startupBudget >= 600, `startup probe allows ${startupBudget}s for kernel JIT and model load`);
  const preStopSeconds = Number(container.lifecycle.preStop.exec.command.at(-1));
  const drainSeconds = Number(env.ADAPTD_SHUTDOWN_TIMEOUT);
  t.ok(preStopSeconds > 0 && drainSeconds > 0, 'a preStop pause and a drain timeout');
  t.ok(pod.spec.terminationGracePeriodSeconds > preStopSeconds + drainSeconds,
    `grace ${pod.spec.terminationGracePeriodSeconds}s > preStop ${preStopSeconds}s + drain ${drainSeconds}s`);
  const volumes = Object.fromEntries(pod.spec.volumes.map((v: any) => [v.name, v]));
  const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m]));
  t.equal(volumes[mounts['/dev/shm']?.name]?.emptyDir?.medium, 'Memory', '/dev/shm is a memory emptyDir');
  t.ok(mounts['/app/models'] && volumes[mounts['/app/models'].name], 'the image volume /app/models is mounted writable');
  t.ok(mounts['/tmp'], '/tmp is writable under a read-only root');
  t.equal(container.securityContext.readOnlyRootFilesystem, true);
  t.equal(pod.spec.securityContext.runAsUser, 10001, 'the image user');
});

t.test('adapters and base come from a shared read-only volume', async (t) => {
  const mount = container.volumeMounts.find((m: any) => env.ADAPTD_ADAPTERS.startsWith(`${m.mountPath}/`));
  t.ok(mount, `ADAPTD_ADAPTERS ${env.ADAPTD_ADAPTERS} is on a mounted volume`);
  t.ok(env.ADAPTD_MODEL.startsWith(`${mount.mountPath}/`), 'the base model on the same volume');
  t.equal(mount.readOnly, true, 'mounted read-only');
  const volume = pod.spec.volumes.find((v: any) => v.name === mount.name);
  const claim = find('PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
  t.same(claim.spec.accessModes, ['ReadOnlyMany'], 'a ReadOnlyMany claim, shared by every replica');
});

t.test('Service, ServiceMonitor and PodDisruptionBudget select the model-server pods', async (t) => {
  const service = find('Service', 'adaptd');
  t.ok(matches(service.spec.selector, pod.metadata.labels), 'Service selects the pods');
  t.ok(matches(server.spec.selector.matchLabels, pod.metadata.labels), 'Deployment selector matches its template');
  const servicePort = service.spec.ports.find((p: any) => p.name === 'http');
  t.equal(containerPortOf(servicePort.targetPort), httpPort.containerPort, 'Service targets the container port');
  const monitor = find('ServiceMonitor', 'adaptd');
  t.ok(matches(monitor.spec.selector.matchLabels, service.metadata.labels), 'ServiceMonitor selects the Service');
  t.same(monitor.spec.endpoints.map((e: any) => [e.port, e.path]), [['http', '/metrics']], 'scrapes /metrics on the API port');
  const pdb = find('PodDisruptionBudget', 'adaptd');
  t.ok(matches(pdb.spec.selector.matchLabels, pod.metadata.labels), 'PDB selects the pods');
});

t.test('autoscaling on queue depth: KEDA on vllm:num_requests_waiting', async (t) => {
  const scaled = find('ScaledObject', 'adaptd');
  t.same(scaled.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: server.metadata.name });
  const trigger = scaled.spec.triggers[0];
  t.equal(trigger.type, 'prometheus');
  t.match(trigger.metadata.query, /^sum\(vllm:num_requests_waiting\{[^}]*\}\)$/, 'summed waiting requests of the pool');
  t.match(trigger.metadata.query, /namespace="adaptd"/, 'scoped to the kustomization namespace');
  t.match(trigger.metadata.query, new RegExp(`service="${find('Service', 'adaptd').metadata.name}"`), 'scoped to the scraped Service');
  t.ok(Number(trigger.metadata.threshold) > 0, 'a per-replica target');
  const pdb = find('PodDisruptionBudget', 'adaptd');
  t.ok(scaled.spec.minReplicaCount > pdb.spec.maxUnavailable, 'a drain never takes the last replica');
  t.equal(manifests.find((m) => m.object.kind === 'Kustomization')!.object.namespace, 'adaptd');
});

t.test('InferencePool and endpoint picker: the pods, their port, the LoRA-affinity scorer on vllm:* metrics', async (t) => {
  const pool = find('InferencePool', 'adaptd');
  t.ok(matches(pool.spec.selector.matchLabels, pod.metadata.labels), 'the pool selects the model-server pods');
  t.same(pool.spec.targetPorts, [{ number: httpPort.containerPort }], 'and targets their API port');
  const eppService = find('Service', pool.spec.endpointPickerRef.name);
  t.ok(eppService.spec.ports.some((p: any) => p.port === pool.spec.endpointPickerRef.port.number), 'endpointPickerRef names a port of the EPP Service');
  const epp = find('Deployment', 'adaptd-epp');
  t.ok(matches(eppService.spec.selector, epp.spec.template.metadata.labels), 'the EPP Service selects the EPP');
  const eppContainer = epp.spec.template.spec.containers[0];
  const args: string[] = eppContainer.args;
  t.equal(flagValue(args, '--pool-name'), pool.metadata.name, 'the EPP watches this pool');
  t.equal(flagValue(args, '--total-queued-requests-metric'), 'vllm:num_requests_waiting');
  t.equal(flagValue(args, '--kv-cache-usage-percentage-metric'), 'vllm:kv_cache_usage_perc');
  t.equal(flagValue(args, '--lora-info-metric'), 'vllm:lora_requests_info');
  const grpcPort = eppService.spec.ports.find((p: any) => p.port === pool.spec.endpointPickerRef.port.number);
  t.ok(eppContainer.ports.some((p: any) => p.name === grpcPort.targetPort || p.containerPort === grpcPort.targetPort), 'the ext-proc port reaches the EPP container');

  const configFile = flagValue(args, '--config-file')!;
  const configMount = eppContainer.volumeMounts.find((m: any) => configFile.startsWith(`${m.mountPath}/`));
  const configVolume = epp.spec.template.spec.volumes.find((v: any) => v.name === configMount.name);
  const configMap = find('ConfigMap', configVolume.configMap.name);
  const config = parse(configMap.data[path.basename(configFile)]);
  t.ok(config, `--config-file ${configFile} is in ConfigMap ${configMap.metadata.name}`);
  const declared = new Set(config.plugins.map((p: any) => p.name ?? p.type));
  const used = config.schedulingProfiles.flatMap((profile: any) => profile.plugins.map((p: any) => p.pluginRef));
  for (const ref of used) t.ok(declared.has(ref), `pluginRef ${ref} is declared`);
  for (const scorer of ['lora-affinity-scorer', 'queue-scorer', 'kv-cache-utilization-scorer']) {
    t.ok(used.includes(scorer), `${scorer} scores the pods`);
  }
  t.ok(used.some((ref: string) => ref.endsWith('-picker')), 'a picker chooses');

  const route = find('HTTPRoute', 'adaptd');
  t.same(route.spec.rules.flatMap((r: any) => r.backendRefs), [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: pool.metadata.name }], 'the route sends traffic to the pool');
  const namespace = manifests.find((m) => m.object.kind === 'Kustomization')!.object.namespace;
  for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding')) {
    t.same(binding.subjects.map((s: any) => s.namespace), [namespace], `${binding.metadata.name} binds the service account of the kustomization namespace`);
  }
  const role = find('Role', epp.spec.template.spec.serviceAccountName);
  t.ok(role.rules.some((r: any) => r.apiGroups.includes('inference.networking.k8s.io') && r.resources.includes('inferencepools')), 'the EPP may read InferencePools');
  t.ok(role.rules.some((r: any) => r.apiGroups.includes('') && r.resources.includes('pods') && r.verbs.includes('watch')), 'and watch pods');
});

t.test('the Dockerfile and the Deployment agree', async (t) => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  t.match(dockerfile, /^ARG BASE_IMAGE=nvidia\/cuda:13\.\d+\.\d+-runtime-ubuntu24\.04$/m, 'a CUDA 13.1+ runtime base by default');
  t.match(dockerfile, /^EXPOSE (\d+)$/m);
  t.equal(Number(/^EXPOSE (\d+)$/m.exec(dockerfile)![1]), httpPort.containerPort, 'EXPOSE = containerPort');
  t.match(dockerfile, /ADAPTD_HOST=0\.0\.0\.0/);
  t.match(dockerfile, /useradd [^\n]*--uid (\d+)/);
  t.equal(Number(/useradd [^\n]*--uid (\d+)/.exec(dockerfile)![1]), pod.spec.securityContext.runAsUser, 'runAsUser = the image user');
  t.match(dockerfile, /^VOLUME \["\/app\/models"\]$/m);
  t.match(dockerfile, /CUDA_CACHE_PATH=\/app\/models\//, 'the CUDA kernel cache lives on the models volume');
  t.match(dockerfile, /NVIDIA_DRIVER_CAPABILITIES=compute,utility/);
  t.match(dockerfile, /^HEALTHCHECK [\s\S]*?\/health/m);
  t.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"/m, 'tini is PID 1');
  t.match(readFileSync(path.join(root, '.dockerignore'), 'utf8'), /^\*\*$/m, 'the build context is an allow-list');
});

t.test('docs/scaling-out.md describes these manifests and metrics', async (t) => {
  const doc = readFileSync(path.join(root, 'docs/scaling-out.md'), 'utf8');
  for (const metric of ['vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:lora_requests_info']) {
    t.match(doc, metric, metric);
  }
  for (const label of ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters']) t.match(doc, label, label);
  t.match(doc, 'inference.networking.k8s.io/v1', 'the InferencePool API version');
  const eppImage = find('Deployment', 'adaptd-epp').spec.template.spec.containers[0].image as string;
  t.match(doc, eppImage.split(':').at(-1)!, 'the endpoint picker version');
  t.match(doc, 'lora-affinity-scorer');
  t.match(doc, 'ReadOnlyMany');
});
