/**
 * SoftHSM2 for tests: a token directory of the test's own (never the system's), tokens initialised with
 * `softhsm2-util`, a PIN file. SOFTHSM2_CONF is set for this process (the module reads it at C_Initialize) and
 * passed to the processes a test starts through `env`. `.ci/run` installs softhsm2 when it is missing.
 *
 * SoftHSM2 reads its token directory at C_Initialize: a process that has opened a token does not see tokens
 * initialised after that, so give every label a test needs to the first `softHsm(...)` call.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's softhsm2 package installs the module here (docs/reference/softhsm-pkcs11.md). */
export const SOFTHSM_MODULE = process.env.STRONGROOM_TEST_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
export const SOFTHSM_PIN = '1234';

export interface SoftHsm {
  dir: string;
  module: string;
  /** A file holding the user PIN of every token made here (mode 0600). */
  pinFile: string;
  pin: string;
  /** Environment for child processes: SOFTHSM2_CONF. */
  env: Record<string, string>;
  /** Initialises another token with this label (same PIN). */
  initToken(label: string): void;
  remove(): void;
}

let shared: SoftHsm | undefined;

/**
 * The process's SoftHSM2 (created on first use, with the given tokens initialised). One per process: the module
 * reads its configuration once.
 */
export function softHsm(...tokens: string[]): SoftHsm {
  if (!shared) {
    // A missing SoftHSM2 fails the test that needs it (a skipped test would pass without checking anything).
    if (!existsSync(SOFTHSM_MODULE)) throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE}): apt-get install -y softhsm2 (.ci/run installs it)`);
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-softhsm-'));
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    const pinFile = join(dir, 'pin');
    writeFileSync(pinFile, SOFTHSM_PIN + '\n', { mode: 0o600 });
    process.env.SOFTHSM2_CONF = conf;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const made = new Set<string>();
    shared = {
      dir,
      module: SOFTHSM_MODULE,
      pinFile,
      pin: SOFTHSM_PIN,
      env: { SOFTHSM2_CONF: conf },
      initToken(label: string) {
        if (made.has(label)) return;
        execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '0000', '--pin', SOFTHSM_PIN], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' });
        made.add(label);
      },
      remove() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  for (const t of tokens) shared.initToken(t);
  return shared;
}
