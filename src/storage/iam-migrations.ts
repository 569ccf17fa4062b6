/** The IAM store's schema, migration by migration, in both dialects (storage/migration.ts). */
import type { Migration } from './migration.js';

import { AUDIT_MIGRATION } from './audit-migration.js';

/** Epoch milliseconds in SQL. */
const NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

// TODO(postgres): each entry becomes { description, sqlite, postgres }.
const SQLITE_ONLY = [
  `CREATE TABLE domains (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
   CREATE TABLE users (
     id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES domains (id), name TEXT NOT NULL,
     password_hash TEXT NOT NULL, enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, UNIQUE (domain_id, name));
   CREATE TABLE projects (
     id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES domains (id), name TEXT NOT NULL, region TEXT NOT NULL,
     created_at INTEGER NOT NULL, UNIQUE (domain_id, name));
   CREATE TABLE access_keys (
     access_key TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users (id), secret_wrapped BLOB NOT NULL,
     security_token_hash TEXT, expires_at INTEGER, created_at INTEGER NOT NULL, enabled INTEGER NOT NULL);
   CREATE TABLE revoked_tokens (seq INTEGER PRIMARY KEY AUTOINCREMENT, token_id TEXT NOT NULL UNIQUE, expires_at INTEGER NOT NULL);
   CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);`,
  `ALTER TABLE access_keys ADD COLUMN source_token_id TEXT;
   ALTER TABLE access_keys ADD COLUMN project_id TEXT;`,
  // Users, groups, custom policies and grants (issue: who may do what). Every account gets its built-in admin
  // group, and the users that existed before (who could do everything in their account) join it: nobody loses access.
  `ALTER TABLE users ADD COLUMN description TEXT NOT NULL DEFAULT '';
   ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
   ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE users ADD COLUMN domain_owner INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE access_keys ADD COLUMN description TEXT NOT NULL DEFAULT '';
   CREATE INDEX access_keys_by_user ON access_keys (user_id);
   CREATE TABLE user_groups (
     id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES domains (id), name TEXT NOT NULL, description TEXT NOT NULL,
     created_at INTEGER NOT NULL, builtin INTEGER NOT NULL, UNIQUE (domain_id, name));
   CREATE TABLE group_members (
     group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE, user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
     PRIMARY KEY (group_id, user_id));
   CREATE INDEX group_members_by_user ON group_members (user_id);
   CREATE TABLE custom_roles (
     id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES domains (id), name TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
     type TEXT NOT NULL, description TEXT NOT NULL, description_cn TEXT NOT NULL, policy TEXT NOT NULL,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (domain_id, display_name));
   CREATE TABLE grants (
     group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE, role_id TEXT NOT NULL, scope TEXT NOT NULL,
     scope_id TEXT NOT NULL, PRIMARY KEY (group_id, role_id, scope, scope_id));
   CREATE INDEX grants_by_role ON grants (role_id);
   CREATE TABLE permission_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, domain_id TEXT NOT NULL, at INTEGER NOT NULL);
   INSERT INTO user_groups (id, domain_id, name, description, created_at, builtin)
     SELECT lower(hex(randomblob(16))), id, 'admin', 'Administrators: every permission, including IAM.', created_at, 1 FROM domains;
   INSERT INTO group_members (group_id, user_id)
     SELECT g.id, u.id FROM users u JOIN user_groups g ON g.domain_id = u.domain_id AND g.builtin = 1;
   UPDATE users SET updated_at = created_at;
   UPDATE users SET domain_owner = 1
     WHERE created_at = (SELECT MIN(v.created_at) FROM users v WHERE v.domain_id = users.domain_id);`,
  AUDIT_MIGRATION.sqlite,
  // Every change that can alter what someone may do writes the permission-change feed in its own transaction.
  `CREATE TRIGGER pc_grant_insert AFTER INSERT ON grants BEGIN
     INSERT INTO permission_changes (domain_id, at) SELECT domain_id, ${NOW_MS} FROM user_groups WHERE id = NEW.group_id; END;
   CREATE TRIGGER pc_grant_delete AFTER DELETE ON grants BEGIN
     INSERT INTO permission_changes (domain_id, at) SELECT domain_id, ${NOW_MS} FROM user_groups WHERE id = OLD.group_id; END;
   CREATE TRIGGER pc_member_insert AFTER INSERT ON group_members BEGIN
     INSERT INTO permission_changes (domain_id, at) SELECT domain_id, ${NOW_MS} FROM user_groups WHERE id = NEW.group_id; END;
   CREATE TRIGGER pc_member_delete AFTER DELETE ON group_members BEGIN
     INSERT INTO permission_changes (domain_id, at) SELECT domain_id, ${NOW_MS} FROM user_groups WHERE id = OLD.group_id; END;
   CREATE TRIGGER pc_group_delete AFTER DELETE ON user_groups BEGIN
     INSERT INTO permission_changes (domain_id, at) VALUES (OLD.domain_id, ${NOW_MS}); END;
   CREATE TRIGGER pc_role_update AFTER UPDATE ON custom_roles BEGIN
     INSERT INTO permission_changes (domain_id, at) VALUES (NEW.domain_id, ${NOW_MS}); END;
   CREATE TRIGGER pc_role_delete AFTER DELETE ON custom_roles BEGIN
     INSERT INTO permission_changes (domain_id, at) VALUES (OLD.domain_id, ${NOW_MS}); END;
   CREATE TRIGGER pc_user_update AFTER UPDATE OF enabled ON users WHEN OLD.enabled <> NEW.enabled BEGIN
     INSERT INTO permission_changes (domain_id, at) VALUES (NEW.domain_id, ${NOW_MS}); END;
   CREATE TRIGGER pc_user_delete AFTER DELETE ON users BEGIN
     INSERT INTO permission_changes (domain_id, at) VALUES (OLD.domain_id, ${NOW_MS}); END;`,
  // Password login lockout (iam/login-guard.ts): recent failures and locks, forgotten when an administrator sets a
  // new password or re-enables the user, and with the user.
  `CREATE TABLE login_failures (user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE, at INTEGER NOT NULL);
   CREATE INDEX login_failures_by_user ON login_failures (user_id, at);
   CREATE TABLE login_locks (user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE, locked_until INTEGER NOT NULL);
   CREATE TRIGGER login_reset_password AFTER UPDATE OF password_hash ON users WHEN OLD.password_hash <> NEW.password_hash BEGIN
     DELETE FROM login_failures WHERE user_id = NEW.id; DELETE FROM login_locks WHERE user_id = NEW.id; END;
   CREATE TRIGGER login_reset_enabled AFTER UPDATE OF enabled ON users WHEN OLD.enabled = 0 AND NEW.enabled = 1 BEGIN
     DELETE FROM login_failures WHERE user_id = NEW.id; DELETE FROM login_locks WHERE user_id = NEW.id; END;`,
  // Tokens issued before a user's password changed, or before the user was disabled, stay invalid (also once the
  // user is enabled again); regions learn it with the user's permissions, refreshed through the change feed.
  `ALTER TABLE users ADD COLUMN tokens_not_before INTEGER NOT NULL DEFAULT 0;
   CREATE TRIGGER tokens_password AFTER UPDATE OF password_hash ON users WHEN OLD.password_hash <> NEW.password_hash BEGIN
     UPDATE users SET tokens_not_before = NEW.updated_at WHERE id = NEW.id;
     INSERT INTO permission_changes (domain_id, at) VALUES (NEW.domain_id, ${NOW_MS}); END;
   CREATE TRIGGER tokens_disabled AFTER UPDATE OF enabled ON users WHEN OLD.enabled = 1 AND NEW.enabled = 0 BEGIN
     UPDATE users SET tokens_not_before = NEW.updated_at WHERE id = NEW.id; END;`,
  // Regions check signatures of access keys they have seen themselves (regions/iam-client.ts): a disabled or deleted
  // access key, and a renamed user, reach them through the change feed.
  `CREATE TRIGGER pc_access_key_update AFTER UPDATE ON access_keys BEGIN
     INSERT INTO permission_changes (domain_id, at) SELECT domain_id, ${NOW_MS} FROM users WHERE id = NEW.user_id; END;
   CREATE TRIGGER pc_access_key_delete AFTER DELETE ON access_keys BEGIN
     INSERT INTO permission_changes (domain_id, at) SELECT domain_id, ${NOW_MS} FROM users WHERE id = OLD.user_id; END;
   CREATE TRIGGER pc_user_rename AFTER UPDATE OF name ON users WHEN OLD.name <> NEW.name BEGIN
     INSERT INTO permission_changes (domain_id, at) VALUES (NEW.domain_id, ${NOW_MS}); END;`,
];

export const IAM_MIGRATIONS: readonly Migration[] = SQLITE_ONLY.map((sqlite) => ({ description: '', sqlite, postgres: '' }));
