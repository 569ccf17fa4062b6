#!/usr/bin/env node
// The `strongroom` command: runs the TypeScript entry point through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
