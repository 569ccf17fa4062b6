/**
 * `strongroom backup` and `strongroom restore` (README "Backup and restore"; the work is in src/backup/). Both print
 * a JSON report on stdout; errors go to stderr with exit code 1 (a refused restore has written nothing).
 */
import type { Command } from 'commander';
import { pkcs11Options, rootKeyOption, type Pkcs11Options } from './root-key-options.js';

export function backupCommands(program: Command): void {
  program.command('backup').description('write a consistent snapshot of a region (and of IAM) to a file while the deployment serves; key material stays wrapped')
    .requiredOption('--region <id>', 'the region').requiredOption('--out <file>', 'the backup file (written atomically, mode 0600)')
    .option('--data-dir <dir>', 'the deployment\'s data directory', './data')
    .option('--without-iam', 'leave IAM\'s accounts, users and access keys out')
    .action(async (o: { region: string; out: string; dataDir: string; withoutIam?: boolean }) => {
      const { takeBackup } = await import('../backup/backup.js');
      const report = await takeBackup({ dataDir: o.dataDir, region: o.region, out: o.out, withoutIam: o.withoutIam });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    });

  pkcs11Options(program.command('restore').description('bring a region back from its backup into a data directory that does not hold it (with IAM when it has none); checks everything before writing anything')
    .requiredOption('--region <id>', 'the region').requiredOption('--in <file>', 'the backup file')
    .requiredOption('--data-dir <dir>', 'the data directory to restore into (created when absent)')
    .option('--root-key-file <file>', 'a copy of the region\'s key file (master.key) the backup was made under; copied into the new data directory')
    .option('--iam-root-key-file <file>', 'a copy of IAM\'s key file (DIR/iam/master.key), when IAM is restored')
    .option('--store <url>', 'a new deployment\'s store: sqlite (default) or postgres://…')
    .option('--port <base>', 'a new deployment\'s base port (default: the backup\'s)')
    .option('--host <host>', 'a new deployment\'s address (default: the backup\'s)')
    .option('--bootstrap-file <file>', 'a copy of the old deployment\'s bootstrap.json (the admin\'s credentials), copied into the new data directory')
    .option('--root-key <kind>', 'pkcs11: the root keys are in an HSM token (with --pkcs11-*; the keys are found by the labels the backup names)'), true)
    .action(async (o: { region: string; in: string; dataDir: string; rootKeyFile?: string; iamRootKeyFile?: string; store?: string; port?: string; host?: string; bootstrapFile?: string } & Pkcs11Options) => {
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65000)) throw new Error('--port must be a port number');
      const token = rootKeyOption(o);
      if (token?.type === 'file' && o.rootKeyFile === undefined) throw new Error('--root-key file: give the key files with --root-key-file (and --iam-root-key-file)');
      const { restoreBackup } = await import('../backup/restore.js');
      const report = await restoreBackup({
        in: o.in, region: o.region, dataDir: o.dataDir, rootKeys: { regionFile: o.rootKeyFile, iamFile: o.iamRootKeyFile, ...(token?.type === 'pkcs11' ? { token } : {}) },
        store: o.store, port, host: o.host, bootstrapFile: o.bootstrapFile,
      });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    });
}
