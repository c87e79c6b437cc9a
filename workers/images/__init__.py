"""Image jobs: handwritten digits drawn by the conditional GAN, stored as PNGs with the job."""
