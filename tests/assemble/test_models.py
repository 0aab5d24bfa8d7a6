import json

import pytest

from bench.assemble.architectures import SDXL_UNET_PARAMETERS
from bench.assemble.pipelines import build_components, load_error_line, tiny_folder
from bench.assemble.tokenizer import END, END_TOKEN_ID, START, build_tokenizer, byte_vocab
from bench.errors import UsageError
from bench.plan.models import resolve_model


def test_tokenizer_is_byte_level_and_pads_to_77():
    vocab = byte_vocab()
    tokens = build_tokenizer()(["a cat"], padding="max_length", max_length=77).input_ids[0]
    assert len(tokens) == 77
    expected = [START, "a</w>", "c", "a", "t</w>", END]  # one token per byte, words end in </w>
    assert tokens[:6] == [vocab[t] for t in expected]
    assert set(tokens[6:]) == {END_TOKEN_ID}


def test_tiny_preset_is_saved_and_loaded_with_from_pretrained(tiny_pipes):
    folder = tiny_folder()
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionXLPipeline"
    assert type(tiny_pipes.text2img).__name__ == "StableDiffusionXLPipeline"
    assert type(tiny_pipes.img2img).__name__ == "StableDiffusionXLImg2ImgPipeline"
    assert tiny_pipes.text2img.name_or_path == str(folder)


def test_img2img_shares_components_with_text2img(tiny_pipes):
    assert tiny_pipes.img2img.unet is tiny_pipes.text2img.unet
    assert tiny_pipes.img2img.vae is tiny_pipes.text2img.vae


def test_tiny_weights_are_fixed_by_the_seed(tiny_pipes):
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        fresh = build_components("tiny")["unet"]
    loaded = tiny_pipes.text2img.unet.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in fresh.state_dict().items())


def test_watermarker_is_disabled(tiny_pipes):
    assert getattr(tiny_pipes.text2img, "watermark", None) is None


def test_sdxl_arch_on_meta_has_the_published_unet_parameter_count():
    components = build_components("sdxl-arch", module_device="meta")
    assert sum(p.numel() for p in components["unet"].parameters()) == SDXL_UNET_PARAMETERS
    assert components["unet"].device.type == "meta"


def test_sdxl_arch_materialises_in_the_target_dtype_without_fp32(monkeypatch):
    """The text encoder of sdxl-arch, built the preset's way, lands in bfloat16 directly."""
    import torch

    from bench.assemble.pipelines import _initialise

    module = build_components("sdxl-arch", module_device="meta")["text_encoder"]
    module = module.to(dtype=torch.bfloat16).to_empty(device="cpu")
    _initialise(module, torch.Generator().manual_seed(0))
    assert {p.dtype for p in module.parameters()} == {torch.bfloat16}
    position_ids = dict(module.named_buffers())["embeddings.position_ids"]
    assert position_ids[0, :5].tolist() == [0, 1, 2, 3, 4]
    out = module(torch.tensor([[512, 65, 66, 513]])).last_hidden_state
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("./no-such-folder", "no such folder"),
        ("not a model", "is not a preset"),
        ("tests", "not a diffusers pipeline folder"),
    ],
)
def test_bad_model_names_are_refused_before_loading(name, fragment):
    with pytest.raises(UsageError, match=fragment):
        resolve_model(name)


def test_local_folder_loads_through_from_pretrained(tiny_cache):
    from bench.assemble.pipelines import load_pipelines

    spec = resolve_model(str(tiny_folder()))
    assert spec.kind == "folder"
    pipes = load_pipelines(spec, "cpu", "float32")
    assert pipes.text2img.unet.config.block_out_channels == [32, 64]


def test_missing_hub_model_offline_is_a_clear_error(monkeypatch):
    from bench.assemble.pipelines import load_pipelines

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UsageError, match="cannot load model 'nobody/no-such-model'"):
        load_pipelines(resolve_model("nobody/no-such-model"), "cpu", "float32")


def test_a_hub_load_error_is_one_line_without_repeating_itself_or_pointing_at_a_hidden_trace():
    repo = "stabilityai/stable-diffusion-xl-base-1.0"
    error = OSError(f"Cannot load model {repo}: the model is not fully cached locally and an"
                    " error occurred while trying to fetch metadata from the Hub. Please check"
                    " out the root cause in the stacktrace above.")
    line = load_error_line(error, repo)
    assert line == ("the model is not fully cached locally and an error occurred while trying"
                    " to fetch metadata from the Hub. (--debug shows the traceback)")
