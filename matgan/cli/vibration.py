"""`matgan vibration`: synthetic and CWRU spectra, InfoGAN training, peak-controlled generation."""

from __future__ import annotations

import click

from matgan.cli.common import (
    MatganGroup,
    batch_size_option,
    device_option,
    echo_json,
    out_option,
    overwrite_option,
    resume_option,
    seed_option,
    steps_option,
)

bins_option = click.option("--bins", type=int, default=512, show_default=True,
                           help="frequency bins from 0 Hz to fs/2 (FFT segments of 2 x bins samples)")
window_option = click.option("--window", default="hann", show_default=True,
                             help="FFT window (scipy name), amplitude-corrected")
welch_option = click.option("--welch/--no-welch", default=True, show_default=True,
                            help="average 50 %-overlapping segments (Welch) or use one segment")
plot_option = click.option("--plot", type=click.Path(), default=None, help="also save a PNG of some spectra")


@click.group(cls=MatganGroup)
def vibration() -> None:
    """Vibration spectra: synthesis, CWRU data, InfoGAN with a calibrated peak-frequency control.

    \b
    synth     synthetic bearing spectra (normal, outer, inner, ball) -> HDF5
    spectra   CWRU .mat records -> segment spectra -> HDF5
    train     InfoGAN on a spectra file, then calibrate its peak code
    generate  spectra with the peak where asked (--peak low|mid|high|2400Hz)
    evaluate  peak-control and fidelity scores as one JSON line
    """


def _spectrum_options(bins: int, window: str, welch: bool):
    import scipy.signal

    from matgan.errors import MatganError
    from matgan.vibration.dataset import SpectrumOptions

    try:
        scipy.signal.get_window(window, 8)
    except ValueError:
        raise MatganError(f"--window {window!r}: not a scipy window name (try hann, flattop, boxcar)") from None
    return SpectrumOptions(n_bins=bins, window=window, welch=welch)


def _preview(path, arrays: dict, class_names: list[str], count: int = 8) -> None:
    import numpy as np

    from matgan.vibration.generate import plot_spectra

    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(arrays["spectra"]), min(count, len(arrays["spectra"])), replace=False))
    titles = [class_names[int(arrays["class"][i])] for i in idx]
    plot_spectra(path, arrays["spectra"][idx], arrays["freqs"], titles=titles, peaks=arrays["peak_hz"][idx])


@vibration.command()
@click.option("-n", "count", type=int, default=1000, show_default=True, help="number of spectra")
@click.option("--fs", type=float, default=12000.0, show_default=True, help="sampling rate in Hz")
@click.option("--duration", type=float, default=0.5, show_default=True, help="record length in s")
@bins_option
@window_option
@welch_option
@click.option("--classes", default="normal,outer,inner,ball", show_default=True,
              help="comma-separated classes to draw from")
@click.option("--gear-teeth", type=int, default=0, show_default=True, help="add gear-mesh lines (0: none)")
@seed_option
@out_option(required=True, help="output HDF5 file")
@plot_option
@overwrite_option
def synth(count, fs, duration, bins, window, welch, classes, gear_teeth, seed, out, plot, overwrite):
    """Synthesize bearing vibration records and write their spectra (HDF5: spectra, freqs, peak_hz, class)."""
    from matgan.errors import MatganError
    from matgan.io import check_writable
    from matgan.vibration.dataset import synth_dataset, write_spectra
    from matgan.vibration.synth import SynthConfig

    check_writable([p for p in (out, plot) if p], overwrite)
    try:
        config = SynthConfig(fs=fs, duration_s=duration, classes=tuple(c.strip() for c in classes.split(",")),
                             gear_teeth=gear_teeth)
    except ValueError as exc:
        raise MatganError(str(exc)) from None
    arrays, attrs = synth_dataset(count, config, _spectrum_options(bins, window, welch), seed=seed, progress=True)
    write_spectra(out, arrays, attrs, overwrite=overwrite)
    if plot:
        _preview(plot, arrays, attrs["class_names"])
    echo_json({"out": out, "spectra": list(arrays["spectra"].shape), "fs": fs,
               "peak_hz": [float(arrays["peak_hz"].min()), float(arrays["peak_hz"].max())]})


@vibration.command("spectra")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--fs", "file_fs", type=float, default=None,
              help="sampling rate of the files in Hz (default: from their names; a contradicting value is refused)")
@click.option("--rate", type=float, default=12000.0, show_default=True,
              help="common rate in Hz the records are brought to (48 kHz records are decimated by 4)")
@click.option("--segment", type=int, default=4096, show_default=True, help="segment length in samples at --rate")
@click.option("--hop", type=int, default=1024, show_default=True, help="samples between segment starts")
@click.option("--channel", type=click.Choice(["DE", "FE", "BA"]), default="DE", show_default=True,
              help="accelerometer: drive end, fan end, base")
@click.option("--portion", default="0:1", show_default=True,
              help="START:STOP fractions of each record to use (e.g. 0:0.7 to train, 0.7:1 to test)")
@bins_option
@window_option
@welch_option
@out_option(required=True, help="output HDF5 file")
@plot_option
@overwrite_option
def spectra_command(files, file_fs, rate, segment, hop, channel, portion, bins, window, welch, out, plot, overwrite):
    """Cut CWRU .mat records into segments and write their spectra (same layout as `synth`)."""
    from matgan.errors import MatganError
    from matgan.io import check_writable
    from matgan.vibration.dataset import cwru_dataset, write_spectra

    check_writable([p for p in (out, plot) if p], overwrite)
    try:
        start, stop = (float(v) for v in portion.split(":"))
    except ValueError:
        raise MatganError(f"--portion {portion!r}: expected START:STOP fractions such as 0:0.7") from None
    if not 0 <= start < stop <= 1:
        raise MatganError(f"--portion {portion!r}: need 0 <= START < STOP <= 1")
    arrays, attrs = cwru_dataset(list(files), rate, _spectrum_options(bins, window, welch), segment, hop, channel,
                                 file_fs, (start, stop))
    write_spectra(out, arrays, attrs, overwrite=overwrite)
    if plot:
        _preview(plot, arrays, attrs["class_names"])
    echo_json({"out": out, "spectra": list(arrays["spectra"].shape), "files": attrs["files"],
               "file_fs": attrs["file_fs"]})


@vibration.command()
@click.argument("spectra_file", type=click.Path())
@steps_option
@batch_size_option
@click.option("--out", "-o", "out", type=click.Path(), default="runs/vibration", show_default=True,
              help="run folder")
@seed_option
@device_option
@click.option("--n-cont", type=int, default=1, show_default=True, help="continuous codes (code 0 is calibrated)")
@click.option("--size", type=click.Choice(["default", "conv", "tiny"]), default="default", show_default=True,
              help="networks: default (MLP), conv (1-D DCGAN), tiny (for tests)")
@resume_option
@overwrite_option
def train(spectra_file, steps, batch_size, out, seed, device, n_cont, size, resume, overwrite):
    """Train the spectra InfoGAN on SPECTRA_FILE, calibrate the peak code, write RUN_DIR/model.pt."""
    from matgan.vibration.gan import train as train_gan

    summary = train_gan(spectra_file, out, steps=steps or 3000, batch_size=batch_size or 64, seed=seed,
                        device=device, resume=resume, overwrite=overwrite, n_cont=n_cont, size=size)
    echo_json(summary)


@vibration.command()
@click.option("--model", type=click.Path(), default=None, help="model.pt or run folder (default: the shipped model)")
@click.option("--peak", required=True, help="low, mid, high (thirds of the learned range) or a frequency, e.g. 2400Hz")
@click.option("-n", "count", type=int, default=16, show_default=True, help="number of spectra")
@click.option("--class", "class_name", default=None,
              help="normal, abnormal (any fault), outer, inner or ball (default: any class)")
@seed_option
@out_option(required=True, help="output HDF5 file")
@click.option("--csv", "csv_path", type=click.Path(), default=None, help="also write the spectra as CSV")
@plot_option
@overwrite_option
def generate(model, peak, count, class_name, seed, out, csv_path, plot, overwrite):
    """Generate spectra whose dominant peak lies where --peak asks."""
    import numpy as np

    from matgan.io import check_writable, write_hdf5
    from matgan.vibration.gan import load_model
    from matgan.vibration.generate import Calibration, defect_lines, parse_peak
    from matgan.vibration.generate import generate as generate_spectra

    peak_value = parse_peak(peak)
    check_writable([p for p in (out, csv_path, plot) if p], overwrite)
    variant, meta = load_model(model)
    arrays = generate_spectra(variant, meta, count, peak_value, class_name, seed)
    calibration = Calibration.from_dict(meta["calibration"])
    attrs = {"source": "matgan vibration generate", "model": str(model or "default"), "peak": peak,
             "class_requested": class_name or "any", "seed": seed, "class_names": meta["class_names"],
             "range_hz": list(calibration.range_hz), **{k: v for k, v in meta["spectrum"].items()}}
    write_hdf5(out, arrays, attrs, overwrite=overwrite)
    names = [meta["class_names"][int(k)] for k in arrays["class"]]
    if csv_path:
        _write_csv(csv_path, arrays, names, overwrite)
    if plot:
        from matgan.vibration.generate import plot_spectra

        shown = min(count, 8)
        plot_spectra(plot, arrays["spectra"][:shown], arrays["freqs"], titles=names[:shown],
                     peaks=arrays["peak_hz"][:shown], lines=[defect_lines(n, meta) for n in names[:shown]])
    echo_json({"out": out, "spectra": list(arrays["spectra"].shape), "peak": peak,
               "peak_hz_median": float(np.median(arrays["peak_hz"])),
               "asked_hz": list(calibration.band(peak_value)) if isinstance(peak_value, str) else peak_value})


def _write_csv(path, arrays: dict, names: list[str], overwrite: bool) -> None:
    import io

    import numpy as np

    from matgan.io import write_text

    codes = arrays["codes"]
    header = ["class", "peak_hz", "target_hz"] + [f"code{j}" for j in range(codes.shape[1])] + \
        [f"{f:.3f}Hz" for f in arrays["freqs"]]
    buffer = io.StringIO()
    buffer.write(",".join(header) + "\n")
    for i, name in enumerate(names):
        values = [f"{arrays['peak_hz'][i]:.3f}", f"{arrays['target_hz'][i]:.3f}"]
        values += [f"{c:.6f}" for c in codes[i]] + np.char.mod("%.6g", arrays["spectra"][i]).tolist()
        buffer.write(name + "," + ",".join(values) + "\n")
    write_text(path, buffer.getvalue(), overwrite)


@vibration.command()
@click.argument("model", type=click.Path())
@click.option("--real", type=click.Path(), default=None, help="real spectra HDF5 for the fidelity scores")
@click.option("-n", "count", type=int, default=2000, show_default=True, help="spectra per control measurement")
@click.option("--classifier-steps", type=int, default=600, show_default=True,
              help="training steps of the fidelity classifier")
@seed_option
def evaluate(model, real, count, classifier_steps, seed):
    """Score a model (run folder or model.pt): peak control, and fidelity against --real; prints one JSON."""
    from matgan.vibration.evaluate import evaluate_model
    from matgan.vibration.gan import load_model

    variant, meta = load_model(model)
    echo_json(evaluate_model(variant, meta, real, n=count, classifier_steps=classifier_steps, seed=seed))
