// Child processes for the benchmarks, pinned to cores when `taskset` is available.
import { execFileSync, fork } from 'node:child_process';
import { cpus } from 'node:os';
import { canPin } from './machine.mjs';

export const PINNING = canPin();

/** Pin every thread of this process to `cpu` (no-op where taskset is missing). */
export function pinSelf(cpu) {
  if (!PINNING) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ALL_CORES = `0-${cpus().length - 1}`;

/**
 * Start `node <script> <args>` with IPC, wait for its `{ ready }` message, then pin it to
 * `cpu`. Resolves to `{ child, message, request(msg), stop() }`. Start-up is not measured,
 * so until it is ready the child may use every core (not only the parent's, which it
 * would inherit): servers started together then start in parallel.
 */
export function startChild(script, args, { cpu, execArgv = [], env, timeoutMs = 120_000 } = {}) {
  const child = fork(script, args, { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (PINNING && cpu !== undefined) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', ALL_CORES, String(child.pid)], { stdio: 'ignore' });
    } catch {}
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} ${args.join(' ').slice(0, 80)} exited with ${code} before it was ready`));
    });
    child.once('message', (message) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      // Every thread, those started since the fork (the pool, V8 helpers) included.
      if (PINNING && cpu !== undefined) {
        try {
          execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(child.pid)], { stdio: 'ignore' });
        } catch {}
      }
      const request = (msg) =>
        new Promise((res) => {
          child.once('message', res);
          child.send(msg);
        });
      const stop = () =>
        new Promise((res) => {
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(t);
            res();
          });
          child.send({ close: true });
        });
      resolve({ child, message, request, stop });
    });
  });
}

/**
 * Start several children together (see {@link startChild}): `starting` maps a name to
 * its pending start. Every one that started is put in `into` under its name, so the
 * caller's cleanup stops it, before the first failure (if any) is thrown.
 */
export async function startedTogether(starting, into) {
  const names = Object.keys(starting);
  const settled = await Promise.allSettled(Object.values(starting));
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') into.set(names[i], r.value);
  });
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
