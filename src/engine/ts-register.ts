// `node --import …/ts-register.js`: installs ts-hooks in a stage process (see ts-hooks.ts).
import { register } from 'node:module';

register(new URL('./ts-hooks.js', import.meta.url), {
  data: { cacheDir: process.env.SPILLWAY_TS_CACHE },
});
