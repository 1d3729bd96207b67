"""Kafka's default key partitioner (Java ``Utils.murmur2``), written out from the Java source.

The checker decides placement itself instead of trusting any client: a record belongs in
``(murmur2(key) & 0x7fffffff) % partitions`` (DESIGN §1). Java does the arithmetic on signed
32-bit ints with wrap-around; masking every product to 32 bits gives the same bits.
"""

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash of ``data`` as an unsigned int (Java's int, reinterpreted)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length % 4
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_of(account_id: str, partitions: int) -> int:
    """The partition that holds every record of ``account_id`` (its canonical text is the key)."""
    if partitions < 1:
        raise ValueError("partitions must be >= 1")
    return (murmur2(account_id.encode()) & 0x7FFFFFFF) % partitions
