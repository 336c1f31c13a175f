// The load scenarios (Tandem against the reference y-websocket server and Hocuspocus) arrive
// with the benchmarks issue; until then `npm run bench` says so instead of failing obscurely.
console.log('npm run bench: the benchmark scenarios are not built yet (see the benchmarks issue).');
