// Desktop benchmark, run by scripts/bench-desktop (which provides Xvfb and the private keyring).
//
//   node tests/e2e/bench-desktop.mjs [--json FILE]
//
// Figures for the release pixie-desktop:
//   (a) binary size
//   (b) cold start to the first paint of the list, wall time from spawn to the app's
//       "pixie-bench ready" stderr line (PIXIE_BENCH=1), median of 5, 3 profiles
//   (c) RSS and PSS after 10 s idle with 3 profiles: the app and all its descendants
//       (WebKitWebProcess, WebKitNetworkProcess), from /proc/<pid>/smaps_rollup
//   (d) the list's render time with 1,000 profiles (render_ms from the same line), median of 3
// and compares them with a bare Tauri hello-world measured on the same kind of machine.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { APP_BIN, Provider, descendants, killTree, profilesToml, sleep, stopAll, tmpDir } from './harness.mjs';

const { values: args } = parseArgs({ options: { json: { type: 'string' } } });

// docs: /work/shared/machine-facts.md, "A bare hello-world, release, under Xvfb".
const REF = { sizeMiB: 10.6, startS: [0.28, 0.5], rssMiB: 430, pssMiB: 253 };
const GOAL_RATIO = 1.2;
const GOAL_RENDER_1000_MS = 100;

const MiB = 1024 * 1024;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

let runNo = 0;

/**
 * Starts the app on a profiles file, waits for its "pixie-bench ready" line and returns
 * {child, wallMs, line: {ms_since_start, render_ms, profiles}, stderr()}. The caller kills it.
 */
async function launch(profiles, { xdg }) {
  runNo += 1;
  const home = tmpDir('pixie-bench-home.');
  fs.writeFileSync(path.join(home, 'profiles.toml'), profiles);
  let stderr = '';
  const t0 = performance.now();
  const child = spawn(APP_BIN, [], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PIXIE_BENCH: '1',
      PIXIE_HOME: home,
      PIXIE_KEYRING_SERVICE: `pixie-bench-${process.pid}`,
      NO_AT_BRIDGE: '1',
      XDG_CACHE_HOME: path.join(xdg, 'cache'),
      XDG_CONFIG_HOME: path.join(xdg, 'config'),
    },
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "pixie-bench ready" line within 30 s; stderr:\n${stderr.slice(-2000)}`)), 30000);
    child.stderr.on('data', (d) => {
      const wallMs = performance.now() - t0;
      stderr += d;
      const m = stderr.match(/pixie-bench ready ms_since_start=([\d.]+) render_ms=([\d.]+) profiles=(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ wallMs, line: { ms_since_start: Number(m[1]), render_ms: Number(m[2]), profiles: Number(m[3]) } });
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code ?? sig}) before it was ready; stderr:\n${stderr.slice(-2000)}`));
    });
  });
  const stop = async () => {
    await killTree(child, 3000);
    fs.rmSync(home, { recursive: true, force: true });
  };
  return { child, ...ready, stop, home };
}

/** {rssMiB, pssMiB, processes: [{pid, comm, rssMiB, pssMiB}]} for pid and its descendants. */
function memory(pid) {
  const processes = [];
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const text = fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const kb = (k) => Number(text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
      processes.push({
        pid: p,
        comm: fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim(),
        rssMiB: kb('Rss') / 1024,
        pssMiB: kb('Pss') / 1024,
      });
    } catch { /* gone, or not ours to read */ }
  }
  const sum = (k) => processes.reduce((a, p) => a + p[k], 0);
  return { rssMiB: sum('rssMiB'), pssMiB: sum('pssMiB'), processes };
}

async function main() {
  if (!fs.existsSync(APP_BIN)) throw new Error(`no app at ${APP_BIN}: build it with scripts/build-app`);
  if (!process.env.DISPLAY) throw new Error('DISPLAY is not set: run this through scripts/bench-desktop');
  const idp = await Provider.start({ logName: 'bench-provider' });
  const xdg = tmpDir('pixie-bench-xdg.');
  const three = profilesToml(3, idp.issuer);
  const thousand = profilesToml(1000, idp.issuer);
  const out = { binary: APP_BIN, load_before: os.loadavg()[0], cpus: os.cpus().length };

  try {
    // (a)
    const size = fs.statSync(APP_BIN).size;
    out.size = { bytes: size, MiB: size / MiB };

    // One warm-up launch first (shared libraries into the page cache, WebKit's cache dirs),
    // so the five measured runs are comparable; it is reported but not counted.
    const warm = await launch(three, { xdg });
    out.warmup_ms = warm.wallMs;
    await warm.stop();

    // (b)
    const starts = [];
    for (let i = 0; i < 5; i += 1) {
      const r = await launch(three, { xdg });
      starts.push({ wall_ms: r.wallMs, ...r.line });
      await r.stop();
      await sleep(300);
    }
    out.start = { runs: starts, median_wall_ms: median(starts.map((s) => s.wall_ms)), median_render_ms: median(starts.map((s) => s.render_ms)) };

    // (c)
    {
      const r = await launch(three, { xdg });
      await sleep(10000);
      out.memory = memory(r.child.pid);
      await r.stop();
    }

    // (d)
    const renders = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await launch(thousand, { xdg });
      if (r.line.profiles !== 1000) throw new Error(`the app reported ${r.line.profiles} profiles, not 1000`);
      renders.push({ wall_ms: r.wallMs, ...r.line });
      await r.stop();
      await sleep(300);
    }
    out.render1000 = { runs: renders, median_render_ms: median(renders.map((s) => s.render_ms)), median_wall_ms: median(renders.map((s) => s.wall_ms)) };
    out.load_after = os.loadavg()[0];
  } finally {
    await idp.stop();
    await stopAll();
    fs.rmSync(xdg, { recursive: true, force: true });
  }

  if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
  report(out);
  return out;
}

function report(o) {
  const f1 = (x) => x.toFixed(1);
  const ratio = (x, ref) => `${(x / ref).toFixed(2)}×`;
  const verdict = (ok) => (ok ? 'ok' : 'OVER');
  const startS = o.start.median_wall_ms / 1000;
  const rows = [
    ['figure', 'pixie-desktop', 'hello-world', 'ratio', 'goal', ''],
    ['binary size', `${o.size.bytes} B = ${f1(o.size.MiB)} MiB`, `${REF.sizeMiB} MiB`, ratio(o.size.MiB, REF.sizeMiB), `≤ ${GOAL_RATIO}×`, verdict(o.size.MiB / REF.sizeMiB <= GOAL_RATIO)],
    ['start → list painted (median of 5)', `${startS.toFixed(3)} s`, `${REF.startS[0]}–${REF.startS[1]} s`,
      `${ratio(startS, REF.startS[0])}–${ratio(startS, REF.startS[1])}`, `≤ ${GOAL_RATIO}×`, verdict(startS / REF.startS[1] <= GOAL_RATIO) + (startS / REF.startS[0] <= GOAL_RATIO ? '' : ' (vs 0.28 s: over)')],
    ['RSS after 10 s idle, 3 profiles', `${f1(o.memory.rssMiB)} MiB`, `${REF.rssMiB} MiB`, ratio(o.memory.rssMiB, REF.rssMiB), `≤ ${GOAL_RATIO}×`, verdict(o.memory.rssMiB / REF.rssMiB <= GOAL_RATIO)],
    ['PSS after 10 s idle, 3 profiles', `${f1(o.memory.pssMiB)} MiB`, `${REF.pssMiB} MiB`, ratio(o.memory.pssMiB, REF.pssMiB), `≤ ${GOAL_RATIO}×`, verdict(o.memory.pssMiB / REF.pssMiB <= GOAL_RATIO)],
    ['list render, 1,000 profiles (median of 3)', `${f1(o.render1000.median_render_ms)} ms`, '—', '—', `< ${GOAL_RENDER_1000_MS} ms`, verdict(o.render1000.median_render_ms < GOAL_RENDER_1000_MS)],
    ['start → list painted, 1,000 profiles', `${(o.render1000.median_wall_ms / 1000).toFixed(3)} s`, '—', '—', '(info)', ''],
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => c + ' '.repeat(w[i] - [...c].length)).join('  ').trimEnd();
  console.log(line(rows[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log();
  console.log(`start runs (wall ms / app ms_since_start / render ms): ${o.start.runs.map((r) => `${r.wall_ms.toFixed(0)}/${r.ms_since_start.toFixed(0)}/${r.render_ms.toFixed(1)}`).join(', ')}; warm-up ${o.warmup_ms.toFixed(0)} ms`);
  console.log(`1,000 profiles (render ms / wall ms to painted): ${o.render1000.runs.map((r) => `${r.render_ms.toFixed(1)}/${r.wall_ms.toFixed(0)}`).join(', ')}`);
  console.log(`memory by process (RSS/PSS MiB): ${o.memory.processes.map((p) => `${p.comm}[${p.pid}] ${f1(p.rssMiB)}/${f1(p.pssMiB)}`).join(', ')}`);
  const busy = Math.max(o.load_before, o.load_after) > o.cpus * 0.5;
  console.log(`load average ${o.load_before.toFixed(2)} before, ${o.load_after.toFixed(2)} after, ${o.cpus} CPUs${busy ? ' — the machine was busy: the times are slower than on an idle one' : ''}`);
  console.log('reference: a bare Tauri 2 hello-world, release, under Xvfb, on this kind of machine (its start figure is to a visible window; Pixie\'s is to the painted list).');
}

main().then(() => process.exit(0), (e) => {
  console.error(`bench-desktop: ${e.stack || e}`);
  process.exit(1);
});
