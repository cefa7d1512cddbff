// XDS over real mutual TLS in tests: a POST with a client certificate of the test PKI (or none).
import { request as httpsRequest } from 'node:https';
import type { Issued } from '../../src/identity/index.ts';
import type { Posted } from './support.ts';

export function postTls(port: number, caPem: string, endpoint: 'registry' | 'repository', body: string, contentType: string, client: Issued | undefined): Promise<Posted> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: `/xds/${endpoint}`, method: 'POST', ca: caPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), headers: { 'content-type': contentType } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
