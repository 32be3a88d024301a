// A real OpenID Provider for the OIDC sign-in tests: panva's oidc-provider on
// 127.0.0.1, with one static client and the library's development login and
// consent pages, which a test fills in without a browser (any login name and
// password sign in; the name becomes the subject).
//
// Usage: node provider.mjs [port]   (0 or nothing: any free port)
// Prints one line `listening http://127.0.0.1:PORT` once it serves, and stops
// on SIGTERM or SIGINT or when its standard input closes, so a test that dies
// leaves no provider behind.

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const CLIENT_ID = process.env.OIDC_CLIENT_ID ?? 'heyblue-test';
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET ?? 'heyblue-test-secret';
const REDIRECT_URI = process.env.OIDC_REDIRECT_URI ?? 'org.heyblue.app:/oauth/callback';

const requestedPort = Number.parseInt(process.argv[2] ?? '0', 10);

// A signing key made at every start: nothing secret is committed, and a test
// learns the key the way the server does, from the JWKS.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `test-${Date.now()}`, use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(requestedPort, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      application_type: 'native',
      redirect_uris: [REDIRECT_URI],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [signingKey] },
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // The ID token carries the claims of the granted scopes, as the server
    // reads name and email from it (no userinfo call).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            name: `${sub} Example`,
            email: `${sub}@example.test`,
            email_verified: true,
          };
        },
      };
    },
  });
  // Plain HTTP on loopback: the library otherwise insists on HTTPS cookies.
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
