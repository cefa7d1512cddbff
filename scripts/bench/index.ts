// `npm run bench`: placeholder until the benchmark issue (#7) lands: the data generator,
// workloads W1–W6 over HTTP against both stores and a bare-Fastify baseline.
console.log('carnet bench: not built yet (issue 7: benchmarks against the machine limit). Nothing was measured.');
