/**
 * ACL rules for the dev agent: a deliberately small subset of Consul's ACL system, enough to exercise a client's
 * handling of 403 and of filtered results.
 *
 * Format (JSON, given as `acl` option or read from `--acl-file FILE`):
 *
 * ```json
 * {
 *   "default_policy": "deny",
 *   "tokens": {
 *     "s3cr3t": {
 *       "accessor_id": "optional-uuid-shown-in-messages",
 *       "key_prefix":     { "": "read", "app/": "write", "app/secret": "deny" },
 *       "session_prefix": { "": "write" },
 *       "event_prefix":   { "deploy": "write" },
 *       "agent_prefix":   { "": "read" }
 *     }
 *   }
 * }
 * ```
 *
 * - `default_policy` (`allow` | `deny`, default `allow`) applies to anything no rule covers, and to requests
 *   with no token or an unknown token (the anonymous token has no rules).
 * - Each `*_prefix` map is matched against a resource name (KV key, session node name, event name, agent node
 *   name); the **longest** matching prefix decides, `""` matches everything. Policies are `read`, `write`
 *   (implies read) and `deny`.
 * - KV: reads need `read`, writes need `write`; a recursive delete needs `write` on the prefix and no
 *   narrower rule below it that is weaker than `write` (Consul's `KeyWritePrefix`).
 * - Sessions: create/destroy/renew need `write` on the session's node; info/list/node need `read`.
 * - Events: fire needs `write` on the event name; list filters out events without `read`.
 * - `/v1/agent/self` needs `read` on the agent's node name.
 *
 * Without an ACL configuration, ACLs are off: every token form is accepted and ignored.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { AgentConfigError } from './errors.js';
import { isJsonObject, parseJson, type ParsedJson } from './json.js';

/** One rule's strength. */
export type AclPolicy = 'read' | 'write' | 'deny';

/** Rules attached to one token. */
export interface AclTokenRules {
  /** Shown in `Permission denied` messages; default: derived from the secret (never the secret itself). */
  accessor_id?: string;
  /** KV key prefix → policy. */
  key_prefix?: Record<string, AclPolicy>;
  /** Node name prefix → policy for sessions on that node. */
  session_prefix?: Record<string, AclPolicy>;
  /** Event name prefix → policy. */
  event_prefix?: Record<string, AclPolicy>;
  /** Agent node name prefix → policy for `/v1/agent/self`. */
  agent_prefix?: Record<string, AclPolicy>;
}

/** The ACL configuration (see the module documentation for the file format). */
export interface AclConfig {
  /** Policy when no rule matches, and for anonymous/unknown tokens. Default: `allow`. */
  default_policy?: 'allow' | 'deny';
  /** Secret ID → rules. */
  tokens?: Record<string, AclTokenRules>;
}

/** Which kind of resource a rule map governs. */
export type AclResource = 'key' | 'session' | 'event' | 'agent';

const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';
const POLICIES: ReadonlySet<string> = new Set(['read', 'write', 'deny']);
const RULE_FIELDS = ['key_prefix', 'session_prefix', 'event_prefix', 'agent_prefix'] as const;

/** The permissions one request acts with. */
export interface Authorizer {
  /** True when ACLs are enabled (results may be filtered, 403 may happen). */
  readonly enabled: boolean;
  /** The accessor id named in denial messages. */
  readonly accessorId: string;
  /** May the token read `name`? */
  canRead(resource: AclResource, name: string): boolean;
  /** May the token write `name`? */
  canWrite(resource: AclResource, name: string): boolean;
  /** May the token write every key under `prefix` (recursive delete)? */
  canWritePrefix(prefix: string): boolean;
  /** Consul's denial message for `resource:access` on `name`. */
  denial(resource: AclResource, access: 'read' | 'write', name: string): string;
}

class RuleSet {
  // Sorted longest first, so the first match is the longest prefix.
  private readonly rules: [string, AclPolicy][];

  constructor(map: Record<string, AclPolicy> | undefined) {
    this.rules = Object.entries(map ?? {}).sort((a, b) => b[0].length - a[0].length);
  }

  match(name: string): AclPolicy | undefined {
    for (const [prefix, policy] of this.rules) {
      if (name.startsWith(prefix)) return policy;
    }
    return undefined;
  }

  /** Policies of rules strictly below `prefix` (for `KeyWritePrefix`). */
  below(prefix: string): AclPolicy[] {
    return this.rules.filter(([p]) => p.length > prefix.length && p.startsWith(prefix)).map(([, policy]) => policy);
  }
}

class TokenAuthorizer implements Authorizer {
  readonly enabled = true;
  private readonly sets: Record<AclResource, RuleSet>;

  constructor(
    private readonly defaultPolicy: 'allow' | 'deny',
    readonly accessorId: string,
    rules: AclTokenRules | undefined,
  ) {
    this.sets = {
      key: new RuleSet(rules?.key_prefix),
      session: new RuleSet(rules?.session_prefix),
      event: new RuleSet(rules?.event_prefix),
      agent: new RuleSet(rules?.agent_prefix),
    };
  }

  private policy(resource: AclResource, name: string): AclPolicy {
    return this.sets[resource].match(name) ?? (this.defaultPolicy === 'allow' ? 'write' : 'deny');
  }

  canRead(resource: AclResource, name: string): boolean {
    return this.policy(resource, name) !== 'deny';
  }

  canWrite(resource: AclResource, name: string): boolean {
    return this.policy(resource, name) === 'write';
  }

  canWritePrefix(prefix: string): boolean {
    if (!this.canWrite('key', prefix)) return false;
    return this.sets.key.below(prefix).every((p) => p === 'write');
  }

  denial(resource: AclResource, access: 'read' | 'write', name: string): string {
    return `Permission denied: token with AccessorID '${this.accessorId}' lacks permission '${resource}:${access}' on ${JSON.stringify(name)}`;
  }
}

/** The authorizer used when ACLs are off: everything is allowed. */
export const ALLOW_ALL: Authorizer = {
  enabled: false,
  accessorId: ANONYMOUS_ACCESSOR,
  canRead: () => true,
  canWrite: () => true,
  canWritePrefix: () => true,
  denial: () => 'Permission denied',
};

function accessorFor(secret: string): string {
  const hex = createHash('sha256').update(`kvx-accessor:${secret}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Resolves tokens to authorizers for a validated {@link AclConfig}. */
export class Acl {
  private readonly defaultPolicy: 'allow' | 'deny';
  private readonly byToken = new Map<string, TokenAuthorizer>();
  private readonly anonymous: TokenAuthorizer;

  constructor(config: AclConfig) {
    validateAclConfig(config);
    this.defaultPolicy = config.default_policy ?? 'allow';
    for (const [secret, rules] of Object.entries(config.tokens ?? {})) {
      this.byToken.set(secret, new TokenAuthorizer(this.defaultPolicy, rules.accessor_id ?? accessorFor(secret), rules));
    }
    this.anonymous = new TokenAuthorizer(this.defaultPolicy, ANONYMOUS_ACCESSOR, undefined);
  }

  /** `allow` or `deny`, for the `X-Consul-Default-ACL-Policy` header. */
  get policy(): 'allow' | 'deny' {
    return this.defaultPolicy;
  }

  /** The authorizer for a secret; unknown or missing secrets act as the anonymous token. */
  resolve(secret: string | undefined): Authorizer {
    return (secret === undefined ? undefined : this.byToken.get(secret)) ?? this.anonymous;
  }
}

function fail(message: string): never {
  throw new AgentConfigError(`invalid ACL configuration: ${message}`);
}

/** Checks the shape of an ACL configuration, throwing {@link AgentConfigError} on the first problem. */
export function validateAclConfig(config: unknown): asserts config is AclConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('expected a JSON object');
  const record = config as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'default_policy' && key !== 'tokens') fail(`unknown field "${key}"`);
  }
  const policy = record.default_policy;
  if (policy !== undefined && policy !== 'allow' && policy !== 'deny') {
    fail('"default_policy" must be "allow" or "deny"');
  }
  const tokens = record.tokens;
  if (tokens === undefined) return;
  if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens)) fail('"tokens" must be an object');
  for (const [secret, rules] of Object.entries(tokens as Record<string, unknown>)) {
    if (secret === '') fail('a token secret must not be empty');
    if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) fail(`token rules must be an object`);
    for (const [field, value] of Object.entries(rules as Record<string, unknown>)) {
      if (field === 'accessor_id') {
        if (typeof value !== 'string') fail('"accessor_id" must be a string');
        continue;
      }
      if (!(RULE_FIELDS as readonly string[]).includes(field)) fail(`unknown token field "${field}"`);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`"${field}" must be an object`);
      for (const [prefix, p] of Object.entries(value as Record<string, unknown>)) {
        if (typeof p !== 'string' || !POLICIES.has(p)) {
          fail(`policy for ${field} ${JSON.stringify(prefix)} must be "read", "write" or "deny"`);
        }
      }
    }
  }
}

function toPlain(value: ParsedJson): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (isJsonObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: toPlain(v), enumerable: true });
    return out;
  }
  return value;
}

/** Reads and validates an ACL file. */
export function loadAclFile(path: string): AclConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError(`cannot read ACL file ${path}: ${(err as Error).message}`);
  }
  let parsed: ParsedJson;
  try {
    parsed = parseJson(text);
  } catch (err) {
    throw new AgentConfigError(`ACL file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const config = toPlain(parsed);
  validateAclConfig(config);
  return config;
}
