"""Media: probing, decoding, thumbnails, waveforms, frame cache, timeline compositing."""
