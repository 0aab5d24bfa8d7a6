"""Component configurations for the built-in model presets (plain dicts, no torch).

``sdxl-arch`` reproduces the published SDXL-base 1.0 configs;
``tiny`` keeps the same structure (two text encoders, text_time conditioning, a VAE)
scaled down so a call takes milliseconds on a CPU.
"""

from __future__ import annotations

SDXL_UNET = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [320, 640, 1280],
    "layers_per_block": 2,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": [1, 2, 10],
    "attention_head_dim": [5, 10, 20],
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
    "norm_num_groups": 32,
    "act_fn": "silu",
}

SDXL_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 2,
    "latent_channels": 4,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}

SDXL_TEXT_ENCODER = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "quick_gelu",
    "max_position_embeddings": 77,
    "vocab_size": 49408,
    "projection_dim": 768,
}

SDXL_TEXT_ENCODER_2 = {
    "hidden_size": 1280,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "intermediate_size": 5120,
    "hidden_act": "gelu",
    "max_position_embeddings": 77,
    "vocab_size": 49408,
    "projection_dim": 1280,
}

SDXL_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "prediction_type": "epsilon",
}

# Published parameter count of the SDXL-base UNet; tests check the preset against it.
SDXL_UNET_PARAMETERS = 2_567_463_684

TINY_UNET = {
    "sample_size": 32,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [32, 64],
    "layers_per_block": 2,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": [1, 2],
    "attention_head_dim": [2, 4],
    "cross_attention_dim": 64,  # hidden size of text_encoder + text_encoder_2
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 80,  # 6 * 8 time ids + 32 pooled
    "norm_num_groups": 32,
    "act_fn": "silu",
}

TINY_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": [32, 64],
    "down_block_types": ["DownEncoderBlock2D"] * 2,
    "up_block_types": ["UpDecoderBlock2D"] * 2,
    "layers_per_block": 1,
    "latent_channels": 4,
    "sample_size": 64,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}

TINY_TEXT_ENCODER = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "hidden_act": "gelu",
    "max_position_embeddings": 77,
    "vocab_size": 1000,
    "projection_dim": 32,
}

TINY_TEXT_ENCODER_2 = dict(TINY_TEXT_ENCODER)

PRESETS = {
    "tiny": {
        "unet": TINY_UNET,
        "vae": TINY_VAE,
        "text_encoder": TINY_TEXT_ENCODER,
        "text_encoder_2": TINY_TEXT_ENCODER_2,
        "scheduler": SDXL_SCHEDULER,
    },
    "sdxl-arch": {
        "unet": SDXL_UNET,
        "vae": SDXL_VAE,
        "text_encoder": SDXL_TEXT_ENCODER,
        "text_encoder_2": SDXL_TEXT_ENCODER_2,
        "scheduler": SDXL_SCHEDULER,
    },
}
