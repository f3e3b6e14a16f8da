// A real, certified OpenID Provider for the tests: panva's oidc-provider (package.json pins it).
//
//   node tests/openid_provider.mjs CONFIG.json
//
// CONFIG.json: {"clients": [...oidc-provider client metadata], "jwks": {"keys": [private JWK]},
// "accounts": "ACCOUNTS.json"}. ACCOUNTS.json maps a login to the claims the test gives it
// ({"sam": {"email": "...", "email_verified": true, "groups": [...]}}); it is read at every
// sign-in, so a test may add accounts while the provider runs. The provider binds a free port
// itself and prints {"issuer": "http://127.0.0.1:PORT"} on its first line. Its development
// login form takes any login (the account) and any password; consent is taken as given.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function claimsOf(login) {
  const accounts = JSON.parse(readFileSync(config.accounts, 'utf8'));
  return accounts[login] ?? {};
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: config.jwks,
    cookies: { keys: ['openid-provider-test-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'groups'],
    },
    // The email claims in the ID token itself, as Entra ID and Google put them.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(ctx, id) {
      return { accountId: id, claims: async () => ({ sub: id, ...claimsOf(id) }) };
    },
    // Consent taken as given: the test signs in as a person, it does not study consent screens.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, error) => console.error(error));
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
