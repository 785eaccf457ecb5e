"""The pipelined SMTP path's reply reader fed byte chunks: several replies in one chunk, one
reply split anywhere, multi-line replies, garbage, a lost connection and a reply too late."""

from __future__ import annotations

import asyncio

import pytest

from openmailer.adapters.providers.smtp_wire import (
    ConnectionDropped,
    Reply,
    ReplyReader,
    checked_address,
    envelope,
    parse_replies,
)

# What a server answers to a pipelined group of MAIL, two RCPTs and DATA, in one segment.
GROUP = (
    b"250 2.1.0 Ok\r\n"
    b"550-5.1.1 no such mailbox\r\n550 5.1.1 see the postmaster\r\n"
    b"250 2.1.5 Ok\r\n"
    b"354 End data with <CR><LF>.<CR><LF>\r\n"
)
EXPECTED = [
    Reply(250, "2.1.0 Ok"),
    Reply(550, "5.1.1 no such mailbox\n5.1.1 see the postmaster"),
    Reply(250, "2.1.5 Ok"),
    Reply(354, "End data with <CR><LF>.<CR><LF>"),
]


def test_one_chunk_holding_several_replies_yields_them_all_in_order() -> None:
    buffer = bytearray(GROUP)
    assert parse_replies(buffer) == EXPECTED
    assert buffer == b""


def test_an_incomplete_reply_stays_in_the_buffer_until_it_completes() -> None:
    buffer = bytearray(b"250 Ok\r\n250-first line\r\n250 la")
    assert parse_replies(buffer) == [Reply(250, "Ok")]
    assert buffer == b"250-first line\r\n250 la"
    buffer += b"st line\r\n"
    assert parse_replies(buffer) == [Reply(250, "first line\nlast line")]


def test_a_bare_code_and_bare_lf_line_ends_are_replies_too() -> None:
    assert parse_replies(bytearray(b"250\n221 Bye\n")) == [Reply(250, ""), Reply(221, "Bye")]


@pytest.mark.parametrize("garbage", [b"hello\r\n", b"25x Ok\r\n", b"250+Ok\r\n", b"\r\n"])
def test_a_line_that_is_not_a_reply_drops_the_connection(garbage: bytes) -> None:
    with pytest.raises(ConnectionDropped, match="malformed"):
        parse_replies(bytearray(b"250 Ok\r\n" + garbage))


def test_an_endless_reply_is_refused() -> None:
    with pytest.raises(ConnectionDropped, match="too long"):
        parse_replies(bytearray(b"250-" + b"x" * 70_000))


async def feed_and_read(chunks: list[bytes], count: int) -> list[Reply]:
    reader = ReplyReader(timeout=5)
    loop = asyncio.get_running_loop()
    for delay, chunk in enumerate(chunks):  # delivered later, as the network would
        loop.call_later(delay * 0.001, reader.data_received, chunk)
    return [await reader.reply() for _ in range(count)]


async def test_replies_in_one_segment_are_all_read() -> None:
    assert await feed_and_read([GROUP], 4) == EXPECTED


async def test_replies_split_at_every_byte_position_read_the_same() -> None:
    for cut in range(1, len(GROUP)):
        assert await feed_and_read([GROUP[:cut], GROUP[cut:]], 4) == EXPECTED, cut


async def test_replies_one_byte_per_segment_read_the_same() -> None:
    reader = ReplyReader(timeout=5)
    for byte in GROUP:
        reader.data_received(bytes([byte]))
    assert [await reader.reply() for _ in range(4)] == EXPECTED


async def test_a_lost_connection_wakes_the_waiting_reader_and_every_later_read() -> None:
    reader = ReplyReader(timeout=5)
    reader.data_received(b"250 Ok\r\n")
    asyncio.get_running_loop().call_soon(reader.connection_lost, ConnectionResetError("reset"))
    assert await reader.reply() == Reply(250, "Ok")  # what arrived before the loss still counts
    with pytest.raises(ConnectionDropped, match="reset"):
        await reader.reply()
    with pytest.raises(ConnectionDropped):
        await reader.reply()


async def test_no_reply_in_time_drops_the_connection() -> None:
    reader = ReplyReader(timeout=0.05)
    with pytest.raises(ConnectionDropped, match=r"no reply within 0\.05 s"):
        await reader.reply()


def test_the_group_for_a_message_is_mail_each_rcpt_then_data() -> None:
    assert envelope("b@example.com", ("x@example.org", "y@example.org")) == (
        b"MAIL FROM:<b@example.com>\r\nRCPT TO:<x@example.org>\r\n"
        b"RCPT TO:<y@example.org>\r\nDATA\r\n"
    )


@pytest.mark.parametrize("address", ["a@b.org\r\nRSET", "a@b.org>", "ü@b.org", "a\x00@b.org"])
def test_an_address_that_would_break_the_command_line_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="bare printable ASCII"):
        checked_address(address)
