"""MNIST: the six textbook GAN variants on the core, their evaluation classifier, scores and pictures."""
