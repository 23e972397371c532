"""Patch embedding: split an image into non-overlapping patches and project each one."""

from torch import Tensor, nn


class PatchEmbed(nn.Module):
    """Image to patch tokens with one strided convolution (ViT, Dosovitskiy et al., 2021).

    A ``P x P`` convolution with stride ``P`` is the same as flattening every patch and
    applying a shared linear layer. Shapes: ``(B, C, H, W) -> (B, N, D)`` with
    ``N = (H / P) * (W / P)``; cost ``O(B * N * C * P^2 * D)``.
    """

    def __init__(self, image_size: int, patch_size: int, in_channels: int, embed_dim: int) -> None:
        """Create the layer.

        Args:
            image_size: Height and width of the (square) input images.
            patch_size: Height and width of one patch; must divide ``image_size``.
            in_channels: Number of input channels ``C``.
            embed_dim: Token dimension ``D``.

        Raises:
            ValueError: If ``patch_size`` does not divide ``image_size``.
        """
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"image_size={image_size} is not divisible by patch_size={patch_size}; "
                "choose a patch size that divides the image size"
            )
        self.grid_size = image_size // patch_size
        self.num_patches = self.grid_size**2
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        """Embed the patches.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Patch tokens of shape ``(B, N, D)``, in row-major patch order.
        """
        x = self.proj(x)  # (B, D, H/P, W/P)
        return x.flatten(2).transpose(1, 2)  # (B, N, D)
