/**
 * `strongroom hsm ...`: the HSM clusters that dedicated keystores use (core/keystores.ts), kept in deployment.json
 * `hsm_clusters`:
 *
 * - `register <id> --module PATH --token LABEL (--pin-file FILE | --pin-env VAR)` opens the token once (module,
 *   label and PIN must work) and records the cluster; the PIN itself is never written anywhere;
 * - `list` prints the registered clusters.
 *
 * Regions read the clusters when they start: restart the deployment after registering one.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { deploymentPath, localRootKeys, readDeployment, writeDeployment } from '../deployment.js';
import { checkHsmClusterConfig, type HsmClusterConfig } from '../keystore/hsm-cluster-config.js';

function deploymentIn(dataDir: string) {
  if (!existsSync(deploymentPath(dataDir))) throw new Error(`${dataDir} holds no deployment (no deployment.json): start it once, or give --data-dir.`);
  return readDeployment(dataDir);
}

/** Registers `hsm register` and `hsm list` on the program. */
export function hsmCommands(program: Command): void {
  const hsm = program.command('hsm').description('HSM clusters (PKCS#11 tokens) for dedicated keystores, kept in deployment.json');

  hsm.command('register <id>').description('check that a PKCS#11 token opens with its PIN and register it as an HSM cluster (restart the deployment to use it)')
    .requiredOption('--module <path>', 'the PKCS#11 module (for example /usr/lib/softhsm/libsofthsm2.so)')
    .requiredOption('--token <label>', 'the token label')
    .option('--pin-file <file>', 'a file whose first line is the user PIN (kept as a path, read by the regions)')
    .option('--pin-env <var>', 'an environment variable holding the user PIN in the region processes')
    .option('--data-dir <dir>', 'data directory', './data')
    .action(async (id: string, o: { module: string; token: string; pinFile?: string; pinEnv?: string; dataDir: string }) => {
      const config: HsmClusterConfig = {
        module: resolve(o.module), token: o.token,
        ...(o.pinFile !== undefined ? { pin_file: resolve(o.pinFile) } : {}),
        ...(o.pinEnv !== undefined ? { pin_env: o.pinEnv } : {}),
      };
      checkHsmClusterConfig(id, config);
      const d = deploymentIn(o.dataDir);
      const had = d.hsm_clusters?.[id];
      if (had && JSON.stringify(had) !== JSON.stringify(config)) {
        throw new Error(`an HSM cluster ${id} is registered already (token ${had.token} of ${had.module}); keys of its keystore live there: choose another id`);
      }
      const twin = Object.entries(d.hsm_clusters ?? {}).find(([other, c]) => other !== id && c.module === config.module && c.token === config.token);
      if (twin) throw new Error(`the token ${config.token} is registered already as HSM cluster ${twin[0]}: one token is one cluster`);
      // The deployment's own root keys stay apart from its accounts' keystores.
      const roots = ['iam', ...d.regions.map((r) => r.id)].flatMap((c) => localRootKeys(d, c));
      if (roots.some((k) => k.type === 'pkcs11' && resolve(k.module) === config.module && k.token === config.token)) {
        throw new Error(`the token ${config.token} holds this deployment's root keys: give keystores a token of their own`);
      }
      const { probeHsmCluster } = await import('../keystore/hsm-clusters.js');
      try {
        probeHsmCluster(config);
      } catch (err) {
        throw new Error(`HSM cluster ${id} not registered: ${(err as Error).message}`);
      }
      writeDeployment(o.dataDir, { ...d, hsm_clusters: { ...d.hsm_clusters, [id]: config } });
      console.log(JSON.stringify({ registered: id, ...config, note: 'restart the deployment for its regions to use the cluster' }, null, 2));
    });

  hsm.command('list').description('the registered HSM clusters (no PINs: only where the regions read them)')
    .option('--data-dir <dir>', 'data directory', './data')
    .action((o: { dataDir: string }) => {
      const clusters = deploymentIn(o.dataDir).hsm_clusters ?? {};
      console.log(JSON.stringify(Object.entries(clusters).map(([id, c]) => ({ id, ...c })), null, 2));
    });
}
