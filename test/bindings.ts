/** Worker bindings for tests: secrets for the suite, and fake servers' URLs from global setup. */
export const TEST_API_TOKEN = "test-token-0123456789";

export function testBindings(ports: Record<string, number>): Record<string, string> {
  const url = (name: string) => `http://127.0.0.1:${ports[name]}`;
  void url;
  return {
    API_TOKEN: TEST_API_TOKEN,
    ALLOW_PRIVATE_NETWORK: "true",
  };
}
