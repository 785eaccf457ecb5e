"""Duplicates inside one import file, across its batches: the first line of an address wins.

A batch's own duplicates are found with a dict. Those of earlier batches are found in what the
run remembers, without asking the database about every address:
- a Bloom filter over every address this run has kept says which addresses cannot have been
  read before (nearly all of them, in a file without duplicates); only the others are looked
  up, and a lookup that finds nothing (a false positive, about one in two hundred) costs one
  probe more;
- the lines of the batches read but not yet committed are held exactly, until each commits;
- the committed batches' addresses are in the database (`ImportStore.remembered_lines`), which
  each batch writes in its own transaction: a batch rolled back leaves none behind.
A resumed run has committed batches it did not read, which its filter knows nothing of: every
address it reads is looked up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from openmailer.core.imports.model import Rejection, StagedContact

BITS_PER_ADDRESS = 16  # with 3 probes: about 0.5% false positives when full
PROBES = 3
FIRST_CAPACITY = 1 << 16
_WORD = (1 << 64) - 1


class AddressFilter:
    """A Bloom filter that grows: when its last part holds its capacity, a part twice as large
    is added (the parts' false positives add up). The first part is sized for the addresses
    expected, so that a file is usually held by one."""

    def __init__(self, expected: int = FIRST_CAPACITY) -> None:
        self._parts: list[tuple[bytearray, int]] = []
        self._held = 0
        self._grow(max(expected, FIRST_CAPACITY))

    def _grow(self, capacity: int) -> None:
        self._capacity = capacity
        size = capacity * BITS_PER_ADDRESS
        self._parts.append((bytearray(size // 8), size))
        self._held = 0

    def add(self, address: str) -> bool:
        """Adds the address; whether it might have been held already (a false positive now and
        then, never a false negative)."""
        if self._held >= self._capacity:
            self._grow(self._capacity * 2)
        digest = hash(address) & _WORD
        low, step = digest & 0xFFFFFFFF, (digest >> 32) | 1
        bits, size = self._parts[-1]
        first, second, third = positions = _positions(size, low, step)
        if _holds(bits, positions):
            return True
        bits[first >> 3] |= 1 << (first & 7)
        bits[second >> 3] |= 1 << (second & 7)
        bits[third >> 3] |= 1 << (third & 7)
        self._held += 1
        for part, part_size in self._parts[:-1]:
            if _holds(part, _positions(part_size, low, step)):
                return True
        return False


# The PROBES (3) positions and their test written out, with no list nor generator between: they
# run for every row of a file, and were a fifth of the importer's Python time as comprehensions.
def _positions(size: int, low: int, step: int) -> tuple[int, int, int]:
    return low % size, (low + step) % size, (low + 2 * step) % size


def _holds(bits: bytearray, positions: tuple[int, int, int]) -> bool:
    first, second, third = positions
    return bool(
        (bits[first >> 3] >> (first & 7))
        & (bits[second >> 3] >> (second & 7))
        & (bits[third >> 3] >> (third & 7))
        & 1
    )


def duplicate(line: int, first_line: int, email: str) -> Rejection:
    return Rejection(line, f"duplicate of line {first_line} (same address)", email)


# the first lines the database remembers for some of a batch's contacts, by their own line
RememberedLines = Callable[[list[StagedContact]], Awaitable[dict[int, int]]]


@dataclass
class RunMemory:
    """What one run of a job knows of the addresses it has read. `resumed`: batches committed
    before the run began, whose addresses only the database knows."""

    resumed: bool
    expected: int = FIRST_CAPACITY  # addresses the file may hold, to size the filter
    filter: AddressFilter = field(init=False)
    # batch end offset -> {address: line}, for the batches kept but not committed yet
    in_flight: dict[int, dict[str, int]] = field(default_factory=dict)
    # committed batches whose every contact was new to the account, and whether one was not
    new_batches: int = 0
    met_known: bool = False

    def __post_init__(self) -> None:
        self.filter = AddressFilter(self.expected)

    async def first_occurrences(
        self, end_offset: int, contacts: list[StagedContact], remembered: RememberedLines
    ) -> tuple[list[StagedContact], list[Rejection]]:
        """The contacts whose address no earlier line of the file has, and a rejection naming
        the first line for each other one. The kept ones are held as in flight under the
        batch's `end_offset` until `committed(end_offset)`."""
        first_line: dict[str, int] = {}
        firsts: list[tuple[StagedContact, str]] = []
        later: list[StagedContact] = []
        for contact in contacts:
            address = contact.email.lower()
            if address in first_line:
                later.append(contact)
            else:
                first_line[address] = contact.line
                firsts.append((contact, address))
        earlier = await self._earlier_lines(firsts, remembered)
        kept: list[StagedContact] = []
        duplicates: list[Rejection] = []
        for contact, address in firsts:
            if address in earlier:
                duplicates.append(duplicate(contact.line, earlier[address], contact.email))
            else:
                kept.append(contact)
        for contact in later:
            address = contact.email.lower()
            first = earlier.get(address, first_line[address])
            duplicates.append(duplicate(contact.line, first, contact.email))
        self.in_flight[end_offset] = {
            address: line for address, line in first_line.items() if address not in earlier
        }
        return kept, duplicates

    def committed(self, end_offset: int, *, all_new: bool) -> None:
        """The batch is in the database now: its addresses are looked up there. `all_new`: the
        account held none of its contacts' addresses."""
        self.in_flight.pop(end_offset, None)
        if all_new:
            self.new_batches += 1
        else:
            self.met_known = True

    @property
    def likely_new(self) -> bool:
        """Every batch committed so far (one at least) was new to the account: the next one's
        addresses most likely are too (a file of new contacts, or the first load)."""
        return self.new_batches > 0 and not self.met_known

    async def _earlier_lines(
        self, firsts: list[tuple[StagedContact, str]], remembered: RememberedLines
    ) -> dict[str, int]:
        """address -> its first line in an earlier batch, for the addresses that have one."""
        earlier: dict[str, int] = {}
        ask: list[StagedContact] = []
        for contact, address in firsts:
            # every address read is added: one already held is a duplicate or a false positive
            if not self.filter.add(address) and not self.resumed:
                continue
            for lines in self.in_flight.values():
                if address in lines:
                    earlier[address] = lines[address]
                    break
            else:
                ask.append(contact)
        if ask:
            found = await remembered(ask)
            for contact in ask:
                if contact.line in found:
                    earlier[contact.email.lower()] = found[contact.line]
        return earlier
