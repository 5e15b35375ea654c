// Assembles the WebAssembly kernels (kernels/*.wat) into kernels/*.js modules holding their bytes, so that
// rgc.js needs no build step to be used: the generated modules are committed. `node kernels/build.mjs`
// writes them; `node kernels/build.mjs --check` fails if a committed one is not what its .wat assembles to.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const here = dirname(fileURLToPath(import.meta.url));
const wabt = await wabtInit();
const check = process.argv.includes('--check');
let stale = 0;
for (const name of readdirSync(here).filter((f) => f.endsWith('.wat')).sort()) {
  const source = readFileSync(join(here, name), 'utf8');
  const module = wabt.parseWat(name, source, { simd: true, multi_value: true });
  module.validate();
  const { buffer } = module.toBinary({});
  module.destroy();
  const base = name.replace(/\.wat$/, '');
  const text =
    `// Generated from ${name} by build.mjs: do not edit; edit ${name} and run \`node kernels/build.mjs\`.\n` +
    `export const WASM = '${Buffer.from(buffer).toString('base64')}';\n`;
  const target = join(here, `${base}.js`);
  let old = null;
  try {
    old = readFileSync(target, 'utf8');
  } catch {}
  if (check) {
    if (old !== text) {
      console.error(`${target} is not what ${name} assembles to: run node kernels/build.mjs`);
      stale++;
    }
  } else if (old !== text) {
    writeFileSync(target, text);
    console.log(`wrote ${target} (${buffer.length} bytes of WebAssembly)`);
  }
}
process.exit(stale ? 1 : 0);
