// Faults (issue 7, hardening): concurrent updates with If-Match lose nothing; a SIGKILL of the
// server during a write load loses no acknowledged write and leaves no half-transaction visible;
// on MongoDB, the database going away gives 503s (and /ready 503) and the server recovers by
// itself when it comes back. Runs on the store of the pass.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { openTestApp } from '../support/app.ts';
import { testStoreKind, testStoreSettings } from '../support/store.ts';
import { startFerretDB } from '../../scripts/ferretdb.ts';
import { fhir, freePort, startServer } from './child-server.ts';

const TAG = 'urn:carnet:test:batch';

// Two server starts, a write load, and on MongoDB a database restart: more than the default.
t.setTimeout(600_000);

// ---- concurrent updates with If-Match --------------------------------------------------------------

t.test('concurrent read-modify-write updates with If-Match never lose an update', async (t) => {
  const api = await openTestApp();
  t.teardown(() => api.close());
  const created = await api.call('POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'compteur' }, valueInteger: 0 });
  t.equal(created.status, 201);
  const url = `/fhir/Observation/${created.body.id}`;
  const CLIENTS = 6;
  const EACH = 5;
  let successes = 0;
  let conflicts = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let done = 0; done < EACH;) {
      const current = await api.call('GET', url);
      const next = { ...current.body, valueInteger: current.body.valueInteger + 1 };
      const r = await api.call('PUT', url, next, { 'if-match': String(current.headers.etag) });
      if (r.status === 200) {
        successes++;
        done++;
      } else if (r.status === 412) {
        conflicts++;
      } else {
        throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
      }
    }
  }));
  const final = await api.call('GET', url);
  t.equal(successes, CLIENTS * EACH);
  t.equal(final.body.valueInteger, successes, 'the counter equals the number of successful updates');
  t.equal(final.body.meta.versionId, String(successes + 1), 'one version per successful update');
  t.comment(`${conflicts} updates were refused with 412 and retried`);
});

// ---- SIGKILL during a write load -------------------------------------------------------------------

function transaction(batch: string): Record<string, unknown> {
  const patient = `urn:uuid:${randomUUID()}`;
  const tag = { tag: [{ system: TAG, code: batch }] };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: patient, resource: { resourceType: 'Patient', meta: tag, name: [{ family: 'Lot', given: [batch] }] }, request: { method: 'POST', url: 'Patient' } },
      ...Array.from({ length: 4 }, (_, i) => ({
        resource: { resourceType: 'Observation', meta: tag, status: 'final', code: { text: `mesure ${i}` }, subject: { reference: patient }, valueInteger: i },
        request: { method: 'POST', url: 'Observation' },
      })),
    ],
  };
}

/** Batch id → how many resources of the type carry its tag (every page of the search). */
async function countByBatch(base: string, type: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next: string | undefined = `${base}/fhir/${type}?_tag=${encodeURIComponent(`${TAG}|`)}&_count=500`;
  while (next) {
    const page = await fhir(next);
    if (page.status !== 200) throw new Error(`search ${type}: ${page.status} ${JSON.stringify(page.body)}`);
    for (const e of page.body.entry ?? []) {
      const code = e.resource.meta.tag.find((tag: { system: string }) => tag.system === TAG).code as string;
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    next = page.body.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  return counts;
}

t.test('after a SIGKILL during a write load every acknowledged write is there and no transaction is half visible', async (t) => {
  const store = testStoreSettings();
  t.teardown(() => store.cleanup());
  const env = {
    DATA_DIR: store.dataDir,
    ...(store.mongodbUri ? { MONGODB_URI: store.mongodbUri, MONGODB_DATABASE: store.mongodbDatabase as string } : {}),
  };
  const port = await freePort();
  let server = await startServer(port, env);
  t.teardown(() => server.kill());

  const attempted = new Set<string>();
  const acknowledged = new Set<string>();
  const created: string[] = [];
  let stop = false;
  const writer = async (w: number) => {
    for (let n = 0; !stop; n++) {
      try {
        if (n % 3 === 2) {
          const r = await fhir(`${server.url}/fhir/Observation`, 'POST', { resourceType: 'Observation', status: 'final', code: { text: 'seule' }, valueInteger: n });
          if (r.status === 201) created.push(r.body.id);
          continue;
        }
        const batch = `w${w}-${n}`;
        attempted.add(batch);
        const r = await fhir(`${server.url}/fhir`, 'POST', transaction(batch));
        if (r.status === 200 && r.body.entry.every((e: { response: { status: string } }) => e.response.status.startsWith('201'))) acknowledged.add(batch);
      } catch {
        return; // the server is gone
      }
    }
  };
  const writers = Array.from({ length: 6 }, (_, w) => writer(w));
  const started = Date.now();
  while (acknowledged.size < 25 && Date.now() - started < 30_000) await sleep(50);
  await server.kill();
  stop = true;
  await Promise.all(writers);
  t.ok(acknowledged.size > 0, `${acknowledged.size} transactions acknowledged before the kill`);
  t.ok(attempted.size > acknowledged.size, 'some transactions were in flight when the server was killed');

  server = await startServer(port, env);
  const patients = await countByBatch(server.url, 'Patient');
  const observations = await countByBatch(server.url, 'Observation');
  const missing = [...acknowledged].filter((b) => patients.get(b) !== 1 || observations.get(b) !== 4);
  t.same(missing, [], 'every acknowledged transaction is there whole');
  const half = [...attempted].filter((b) => {
    const seen = [patients.get(b) ?? 0, observations.get(b) ?? 0];
    return !((seen[0] === 0 && seen[1] === 0) || (seen[0] === 1 && seen[1] === 4));
  });
  t.same(half, [], 'no transaction is partly visible');
  const unreadable: string[] = [];
  for (const id of created) if ((await fhir(`${server.url}/fhir/Observation/${id}`)).status !== 200) unreadable.push(id);
  t.same(unreadable, [], `every acknowledged create (${created.length}) is readable`);
});

// ---- the database going away -----------------------------------------------------------------------

t.test('while MongoDB is away requests get 503 and the server recovers when it is back, without a restart', { skip: testStoreKind() === 'mongo' ? false : 'the embedded store cannot go away: this runs on the MongoDB pass' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-ferret-fault-'));
  let ferret = await startFerretDB(() => undefined, { dir });
  const port = Number(new URL(ferret.uri).port);
  t.teardown(async () => {
    await ferret.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const data = mkdtempSync(join(tmpdir(), 'carnet-fault-data-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const server = await startServer(await freePort(), { DATA_DIR: data, MONGODB_URI: ferret.uri, MONGODB_DATABASE: 'fault' });
  t.teardown(() => server.kill());

  const seeded = await fhir(`${server.url}/fhir/Patient`, 'POST', { resourceType: 'Patient', name: [{ family: 'Panne' }] });
  t.equal(seeded.status, 201);
  t.equal((await fhir(`${server.url}/ready`)).status, 200);

  await ferret.stop();
  const transient = (r: { status: number; body: any }, what: string) => {
    t.equal(r.status, 503, `${what}: 503`);
    t.equal(r.body?.resourceType, 'OperationOutcome', `${what}: an OperationOutcome`);
    t.equal(r.body?.issue?.[0]?.code, 'transient', `${what}: code transient`);
  };
  const [read, search, create, ready] = await Promise.all([
    fhir(`${server.url}/fhir/Patient/${seeded.body.id}`),
    fhir(`${server.url}/fhir/Patient?name=panne`),
    fhir(`${server.url}/fhir/Patient`, 'POST', { resourceType: 'Patient', name: [{ family: 'Pendant' }] }),
    fetch(`${server.url}/ready`),
  ]);
  transient(read, 'a read');
  transient(search, 'a search');
  transient(create, 'a create');
  t.equal(ready.status, 503, '/ready says unavailable');

  ferret = await startFerretDB(() => undefined, { port, dir });
  const deadline = Date.now() + 60_000;
  let back = await fhir(`${server.url}/fhir/Patient/${seeded.body.id}`);
  while (back.status !== 200 && Date.now() < deadline) {
    await sleep(500);
    back = await fhir(`${server.url}/fhir/Patient/${seeded.body.id}`);
  }
  t.equal(back.status, 200, 'the patient written before the outage is read again');
  t.equal(back.body.name[0].family, 'Panne');
  t.equal((await fhir(`${server.url}/fhir/Patient`, 'POST', { resourceType: 'Patient', name: [{ family: 'Après' }] })).status, 201, 'writes work again');
  t.equal((await fetch(`${server.url}/ready`)).status, 200, '/ready says ready');
  t.equal(server.child.exitCode, null, 'the same server process throughout');
});
