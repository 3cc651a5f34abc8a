/**
 * What the bundle gives `@kvx/client` for `import … from 'undici'`: the two exports its connection pool uses
 * (packages/client/src/transport/connection-pool.ts). undici's index evaluates the whole library when loaded —
 * fetch, WebSocket, EventSource, caches, mock agents — which cost `kvx out` tens of milliseconds of start-up for
 * nothing; these two modules load only the HTTP/1.1 client and its connector. bundle.js checks that the client
 * imports nothing else from undici.
 */
'use strict';

module.exports = {
  Client: require('undici/lib/dispatcher/client.js'),
  buildConnector: require('undici/lib/core/connect.js'),
};
