"""GAN variants, registered by name: gan, dcgan, cgan, infogan, aae, cyclegan (and the evaluation classifier)."""

from matgan.core.variants.aae import AAE, AAEConfig
from matgan.core.variants.base import VARIANTS, Variant, VariantConfig, build_variant, register
from matgan.core.variants.classifier import Classifier, ClassifierConfig
from matgan.core.variants.cyclegan import CycleGAN, CycleGANConfig
from matgan.core.variants.gan import DCGAN, GAN, ConditionalGAN, GANConfig
from matgan.core.variants.infogan import InfoGAN, InfoGANConfig

__all__ = [
    "AAE", "AAEConfig", "Classifier", "ClassifierConfig", "ConditionalGAN", "CycleGAN", "CycleGANConfig",
    "DCGAN", "GAN", "GANConfig",
    "InfoGAN", "InfoGANConfig", "VARIANTS", "Variant", "VariantConfig", "build_variant", "register",
]
