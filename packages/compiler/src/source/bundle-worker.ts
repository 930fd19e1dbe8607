import { parentPort } from 'node:worker_threads';
import { bundleForImport, type BundleAnswer, type BundleRequest } from './bundle.js';

// A `Bundler`'s worker thread: bundles what the main thread asks for, one answer per request.
const port = parentPort;
if (!port) throw new Error('bundle-worker.js runs as a worker thread');
port.on('message', (request: BundleRequest) => {
  bundleForImport(request.entry, request.dir, request.kind).then(
    (result) => port.postMessage({ id: request.id, result } satisfies BundleAnswer),
    (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies BundleAnswer),
  );
});
