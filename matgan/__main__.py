"""`python -m matgan` runs the command-line interface (also under `torchrun -m matgan`)."""

from matgan.cli import main

if __name__ == "__main__":
    main()
