/** `bafomet keygen`: one fresh Ed25519 key file, for a client the cluster config admits (`clients`) or a replica. */
import { generateIdentity, publicKeyBase64, savePrivateKey } from '../net/identity.js';
import { CliError, EXIT } from './fatal.js';

/**
 * Writes a new private key to `path` (PKCS#8 PEM, mode 0600, the format
 * `bafomet init` writes) and returns its public key in base64, as the
 * cluster config lists it. The private key is never printed or logged.
 *
 * @throws CliError (exit code usage) if `path` exists: a key is never overwritten.
 */
export async function writeKeyFile(path: string): Promise<string> {
  const identity = generateIdentity();
  try {
    await savePrivateKey(path, identity);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(`keygen will not overwrite ${path}: choose another --out, or move the old key away`, EXIT.usage, { cause: error });
    }
    throw error;
  }
  return publicKeyBase64(identity);
}
