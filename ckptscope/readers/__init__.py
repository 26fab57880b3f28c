"""Readers turn bytes into typed records (TensorInfo, ModelConfig, TokenizerInfo) and validate them."""
