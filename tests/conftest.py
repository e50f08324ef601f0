"""Fixtures for the end-to-end tests (helpers are in lspkit.py)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from lspkit import BIN, start_client, stop_client


def pytest_configure(config):
    if not BIN.is_file():
        raise pytest.UsageError(f"{BIN} does not exist: run `cargo build` or set OKSTRA_LSP_BIN")


@pytest_asyncio.fixture
async def start():
    """A factory: `client, init_result = await start(encodings=..., ...)`
    starts a server (see lspkit.start_client); every server started is shut
    down (or killed) after the test."""
    clients = []

    async def _start(**kwargs):
        client, result = await start_client(**kwargs)
        clients.append(client)
        return client, result

    yield _start
    for client in clients:
        await stop_client(client)


@pytest_asyncio.fixture
async def client(start):
    """A server initialized with the default (UTF-16) encoding and no
    workspace folder."""
    c, _ = await start()
    return c
