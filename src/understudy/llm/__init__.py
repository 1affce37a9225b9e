"""Language models: one small contract, an OpenAI-compatible backend, a scripted fake.

``get_model(Settings.load())`` returns the configured model, or None when
``llm_url`` is empty. Tests forbid real requests by setting
``understudy.llm.models.ALLOW_MODEL_REQUESTS = False`` and serve a
``FakeModelServer`` instead.
"""

from understudy.llm.fake import FakeModelServer, FakeRequest, Reply, ScriptedCall
from understudy.llm.models import (
    Completion,
    Delta,
    LanguageModel,
    Message,
    ModelError,
    ModelRequestsForbidden,
    Request,
    Stream,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
    function_tool,
)
from understudy.llm.openai import OpenAIModel
from understudy.llm.prompts import LLMSynthesizer, LLMWriter, answer_messages, draft_messages
from understudy.llm.registry import backend_class, backend_names, get_model

__all__ = [
    "Completion",
    "Delta",
    "FakeModelServer",
    "FakeRequest",
    "LLMSynthesizer",
    "LLMWriter",
    "LanguageModel",
    "Message",
    "ModelError",
    "ModelRequestsForbidden",
    "OpenAIModel",
    "Reply",
    "Request",
    "ScriptedCall",
    "Stream",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "Usage",
    "answer_messages",
    "backend_class",
    "backend_names",
    "draft_messages",
    "function_tool",
    "get_model",
]
