/** The signing secret the webhooks test project runs with (a test value, not a credential). */
export const WEBHOOK_TEST_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0zMi1ieXRlcyEh";
