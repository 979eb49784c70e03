"""A local emulator of the AWS APIs this project uses (AgentCore Memory's data plane), for tests and demos.

A development tool shipped with the distribution; the library itself never imports it.
One HTTP server speaks each emulated service's REST-JSON wire format, so boto3 and
aiobotocore clients work against it through ``endpoint_url``::

    python -m langgraph_checkpoint_aws.emulator --host 127.0.0.1 --port 0 [--data-dir DIR]

prints ``listening on http://127.0.0.1:PORT`` once ready, and ``GET /ping`` answers 200.
In-process::

    from langgraph_checkpoint_aws.emulator import Emulator

    with Emulator() as emulator:
        client = boto3.client("bedrock-agentcore", endpoint_url=emulator.endpoint_url,
                              region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")

How requests are served: each service's operations are routed from botocore's own
service model (HTTP method and ``requestUri``; URI labels, query string, headers and
JSON body), and every request is validated against that model (required members,
types, lengths, patterns matched in full, ranges, list and map sizes, enums, unions)
before it reaches the handler. Errors use the model's error shapes and status codes,
with ``__type`` and the ``x-amzn-ErrorType`` header, so ``ClientError.response["Error"]["Code"]``
is the service's code. When several services share the port, a request goes to the
service its SigV4 credential scope names, then to any whose routes match.

AgentCore Memory (``bedrock-agentcore``): CreateEvent, GetEvent, ListEvents (paging,
``includePayloads``, branch and event-metadata filters), DeleteEvent, ListSessions,
ListActors, RetrieveMemoryRecords, ListMemoryRecords, GetMemoryRecord,
DeleteMemoryRecord, BatchCreateMemoryRecords, BatchUpdateMemoryRecords and
BatchDeleteMemoryRecords; see ``agentcore.py`` for the behaviour of each. Any memory
id the model accepts is created on first use. Other operations of the model answer
501 ``NotImplementedException``.

Bedrock session management (``bedrock-agent-runtime``, signed as ``bedrock``): CreateSession,
GetSession, UpdateSession, EndSession, DeleteSession, ListSessions, CreateInvocation,
ListInvocations, PutInvocationStep, GetInvocationStep and ListInvocationSteps, with session
states (ACTIVE, ENDED, EXPIRED); see ``bedrock_sessions.py``.

Control endpoints, for tests and benchmarks:

- ``POST /_emulator/faults`` with ``{"operation": "CreateEvent", "error": "ThrottledException",
  "count": 2}`` (optional: ``service``, ``message``, ``status``, ``when`` = ``before`` |
  ``after`` (run the call, then fail: a lost response), ``skip``, ``delay`` seconds;
  ``count: null`` fails every call); a list adds several. ``GET`` lists them, ``DELETE``
  clears them. The service's throttling error is ``ThrottledException`` (HTTP 429).
- ``GET /_emulator/calls``: ``{"calls": {"bedrock-agentcore": {"CreateEvent": 3, ...}}}``,
  every request routed to an operation, failed and faulted ones included; ``DELETE`` zeroes them.
- ``POST /_emulator/reset``: forget all state, faults and counts.
- ``POST /_emulator/flush``: write the state to ``--data-dir`` now.

A server that goes away is ``Emulator.stop()`` (or ending the process); state in
``--data-dir`` (one JSON file per service, written within ``flush_interval`` of a
change and on stop) is reloaded by the next start.

What it does not reproduce:

- long-term memory extraction: memory strategies never turn events into records;
  records exist only through BatchCreateMemoryRecords (``extractionMode`` and
  ``extractionConfig`` are accepted and ignored);
- semantic relevance: RetrieveMemoryRecords ranks by word overlap (cosine of word
  counts), deterministic, higher is more relevant, not by embeddings;
- the service's throttling, quotas and latency (inject them with faults), IAM,
  SigV4 checking (any credentials are accepted), KMS, event expiry, and the
  control plane (CreateMemory, GetMemory...);
- the order of ListEvents, which the service does not document: newest first here.
"""

from .agentcore import AgentCoreMemoryService
from .bedrock_sessions import BedrockSessionsService
from .server import Emulator, Fault
from .service import EmulatedService

__all__ = ["AgentCoreMemoryService", "BedrockSessionsService", "EmulatedService", "Emulator", "Fault"]
