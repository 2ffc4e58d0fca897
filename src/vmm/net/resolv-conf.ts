/** The host's DNS server, from resolv.conf (resolv.conf(5): "nameserver Name server IP address"). */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** The first `nameserver` address in resolv.conf text (IPv4 or IPv6), or null if there is none. */
export function firstNameserver(text: string): string | null {
  for (const line of text.split('\n')) {
    const words = line.replace(/[#;].*/, '').trim().split(/\s+/);
    if (words[0] !== 'nameserver' || words.length < 2) continue;
    // An IPv6 address may name its interface after '%'; isIP checks the address part.
    const address = words[1];
    if (isIP(address.split('%')[0]) !== 0) return address;
  }
  return null;
}

/** The first nameserver in the file at `path`; null if it cannot be read or names none. */
export function readNameserver(path: string): string | null {
  try {
    return firstNameserver(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
