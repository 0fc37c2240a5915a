"""Run in a virtualenv with `eval-protocol` (tests/agent/test_eval_protocol.py starts it):
Eval Protocol's own `RemoteRolloutProcessor` drives one rollout of the agent at argv[1], with
the tracing gateway at argv[2]; prints the finished row as JSON on the last line."""

from __future__ import annotations

import asyncio
import json
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

from eval_protocol.models import EvaluationRow, InputMetadata, Message  # noqa: E402
from eval_protocol.pytest.remote_rollout_processor import RemoteRolloutProcessor  # noqa: E402
from eval_protocol.pytest.types import RolloutProcessorConfig  # noqa: E402


async def main(agent_url: str, gateway_url: str, prompt: str) -> None:
    row = EvaluationRow(
        messages=[Message(role="user", content=prompt)],
        input_metadata=InputMetadata(row_id="row-1"),
    )
    meta = row.execution_metadata
    meta.invocation_id, meta.experiment_id = "inv-1", "exp-1"
    meta.rollout_id, meta.run_id = "ro-ep-1", "run-1"
    config = RolloutProcessorConfig(
        completion_params={"model": "accounts/fw/models/base"},
        mcp_config_path="",
        semaphore=asyncio.Semaphore(1),
    )
    processor = RemoteRolloutProcessor(
        remote_base_url=agent_url, model_base_url=gateway_url, poll_interval=0.1, timeout_seconds=60
    )
    (task,) = processor([row], config)
    done = await task
    await processor.acleanup()
    status = done.rollout_status
    print(
        json.dumps(
            {
                "code": int(status.code) if status else None,
                "message": status.message if status else None,
                "messages": [{"role": m.role, "content": m.content} for m in done.messages],
                "extra": done.execution_metadata.extra,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
