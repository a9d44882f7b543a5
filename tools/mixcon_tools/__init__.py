"""Python tools of the MixCon SDK: the .mixc format, the PyTorch reference model,
golden vectors and the training of the bundled default model."""
