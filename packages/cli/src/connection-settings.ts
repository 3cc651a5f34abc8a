/**
 * The Consul connection settings that both the command line and the config file give. Each setting is taken
 * from the first that has it: the flag, the `CONSUL_*` environment variable, the config-file key, the
 * client's default (see `consulOptionsFrom`).
 *
 * @module
 */

/** Connection settings shared by {@link ConsulFlags} and the config file's {@link ConfigConnection}. */
export interface ConnectionSettings {
  /** ACL token (`--token`, config `token`); never printed. Default: env `CONSUL_HTTP_TOKEN(_FILE)`, else none. */
  token?: string;
  /** File holding the ACL token (`--token-file`, config `token_file`); `token` from the same source wins. */
  tokenFile?: string;
  /** Datacenter (`--datacenter`, config `datacenter`). Default: the agent's. */
  datacenter?: string;
  /** PEM file with the CA certificate(s) to verify the agent (`--ca-file`, config `ca_file`). Default: env `CONSUL_CACERT`. */
  caFile?: string;
  /** Directory of PEM CA certificates to verify the agent (`--ca-path`, config `ca_path`). Default: env `CONSUL_CAPATH`. */
  caPath?: string;
  /** PEM client certificate for mutual TLS (`--client-cert`, config `client_cert`). Default: env `CONSUL_CLIENT_CERT`. */
  clientCert?: string;
  /** PEM client private key for mutual TLS (`--client-key`, config `client_key`). Default: env `CONSUL_CLIENT_KEY`. */
  clientKey?: string;
  /**
   * Name to verify the agent's certificate against (SNI; `--tls-server-name`, config `tls_server_name`).
   * Default: env `CONSUL_TLS_SERVER_NAME`, else the agent's host.
   */
  tlsServerName?: string;
  /**
   * Do not verify the agent's TLS certificate (`--tls-skip-verify`, config `tls_skip_verify`). Default: env
   * `CONSUL_HTTP_SSL_VERIFY`, else `false`.
   */
  tlsSkipVerify?: boolean;
}
