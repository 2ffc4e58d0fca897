/**
 * The one error class of the hypervisor API. Everything the VMM can get
 * wrong (invalid attributes, overlapping memory slots, unknown register ids,
 * an MMIO read left uncompleted, pool exhaustion) is reported as a HypError
 * with a message that says what and where; a guest can never cause one
 * (guest mistakes get the architectural response instead).
 */
export class HypError extends Error {
  override readonly name = 'HypError';
}
