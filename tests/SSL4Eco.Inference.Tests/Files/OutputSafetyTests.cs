using System.Diagnostics;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Files;

/// <summary>Issue #10: never destroy an input (OutputGuard), stale temporaries, a full disk named as such, output locks.</summary>
public class OutputSafetyTests
{
    private static string Write(string path, string text = "data")
    {
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Never_destroy_an_input_the_same_path_another_spelling_a_symlink_a_folder_link_and_a_hard_link_are_refused()
    {
        using var dir = new TempDir();
        var input = Write(dir.File("in.tif"));
        Directory.CreateDirectory(dir.File("sub"));
        File.CreateSymbolicLink(dir.File("link.tif"), input);
        Directory.CreateSymbolicLink(dir.File("dirlink"), dir.Path);
        Assert.True(Tmpfs.Run("ln", input, dir.File("hard.tif")));

        foreach (var output in new[] { input, dir.File("sub/../in.tif"), dir.File("link.tif"), dir.File("dirlink/in.tif"), dir.File("hard.tif") })
        {
            var e = Assert.Throws<ArgumentException>(() => OutputGuard.Check(input, output));
            Assert.StartsWith($"output '{output}' is the input '{input}'", e.Message);
            Assert.EndsWith("choose another output path.", e.Message);
            Assert.DoesNotContain("Parameter", e.Message);
        }
        // The other way round: the input given through a link, the output by its real path.
        Assert.Throws<ArgumentException>(() => OutputGuard.Check(dir.File("link.tif"), input));
        // Distinct files pass, including not-yet-existing ones and GDAL virtual paths.
        OutputGuard.Check(input, dir.File("out.tif"));
        OutputGuard.Check(input, dir.File("sub/new/out.tif"));
        OutputGuard.Check(["/vsicurl/https://example.org/x.tif"], ["/vsimem/x.tif", dir.File("o.tif")]);
        if (OperatingSystem.IsLinux()) OutputGuard.Check(input, dir.File("IN.tif")); // another file on a case-sensitive file system
    }

    [Fact]
    public void Never_destroy_an_input_files_a_vrt_references_two_outputs_in_one_and_an_input_inside_an_output_folder()
    {
        using var dir = new TempDir();
        var band = Write(dir.File("B02.tif"));
        var vrt = Write(dir.File("scene.vrt"), """
<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand dataType="UInt16" band="1"><SimpleSource>
<SourceFilename relativeToVRT="1">B02.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>
""");
        var e = Assert.Throws<ArgumentException>(() => OutputGuard.Check(vrt, band));
        Assert.Contains("B02.tif", e.Message);
        var twice = Assert.Throws<ArgumentException>(() => OutputGuard.Check([vrt], [dir.File("a.tif"), dir.File("./a.tif")]));
        Assert.Contains("are the same file", twice.Message);
        var inside = Assert.Throws<ArgumentException>(() => OutputGuard.Check([band], [], [dir.Path]));
        Assert.Contains("lies in", inside.Message);
    }

    [Fact]
    public void Stale_temporaries_of_a_killed_process_are_removed_by_the_next_write_and_nothing_else_is()
    {
        using var dir = new TempDir();
        var target = dir.File("model.onnx");
        // A process that has ended: its pid is no longer running.
        var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        int dead = p.Id;
        var guid = Guid.NewGuid().ToString("N");
        var stale = Write(dir.File($".model.{dead}-{guid}.tmp.onnx"), new string('x', 1000));
        var staleStage = Write(dir.File($".model.{dead}-{guid}.tmp.onnx.stage.tif"));
        var live = Write(dir.File($".model.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp.onnx"));
        var oldStyleFresh = Write(dir.File($".model.{Guid.NewGuid():N}.tmp.onnx"));
        var oldStyleOld = Write(dir.File($".model.{Guid.NewGuid():N}.tmp.onnx"));
        File.SetLastWriteTimeUtc(oldStyleOld, DateTime.UtcNow.AddHours(-2));
        var userHidden = Write(dir.File(".model.notes.tmp.onnx"));
        var other = Write(dir.File($".other.{dead}-{guid}.tmp.onnx"));

        AtomicFile.WriteText(target, "new");

        Assert.Equal("new", File.ReadAllText(target));
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(staleStage));
        Assert.False(File.Exists(oldStyleOld));
        Assert.True(File.Exists(live));            // a running process's temporary
        Assert.True(File.Exists(oldStyleFresh));   // could belong to a running older version
        Assert.True(File.Exists(userHidden));      // not our naming
        Assert.True(File.Exists(other));           // another target's temporary is left to that target's writer
        // The temporaries this process makes carry its pid, so the next run can tell them apart.
        Assert.Empty(Directory.GetFiles(dir.Path, $".model.{Environment.ProcessId}-*.tmp.onnx").Except([live]));
    }

    [TmpfsFact]
    public void Disk_full_is_named_as_such_with_the_folder()
    {
        var mount = Path.Combine(Path.GetTempPath(), "ssl4eco-full-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mount);
        try
        {
            Assert.True(Tmpfs.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount), "mount -t tmpfs failed");
            try
            {
                var target = Path.Combine(mount, "big.bin");
                var e = Assert.Throws<IOException>(() => AtomicFile.Write(target, s => s.Write(new byte[4 << 20])));
                Assert.StartsWith($"the disk holding '{mount}' is full", e.Message);
                Assert.Empty(Directory.GetFiles(mount, "*", SearchOption.AllDirectories));   // the temporary is gone too
            }
            finally { Tmpfs.Run("umount", mount); }
        }
        finally { Directory.Delete(mount, true); }
    }

    [Fact]
    public void An_output_lock_is_exclusive_across_processes_and_released_when_its_holder_dies()
    {
        using var dir = new TempDir();
        var output = dir.File("map");
        // Another process (flock through Python) holds the lock file.
        var holder = Process.Start(new ProcessStartInfo("/usr/bin/python3",
            ["-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)", OutputLock.PathFor(output)])
        { RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());
            var e = Assert.Throws<IOException>(() => OutputLock.Acquire(output));
            Assert.StartsWith($"another run is writing '{output}'", e.Message);
            holder.Kill();
            holder.WaitForExit();
            using var mine = OutputLock.Acquire(output);   // the OS released the dead holder's lock
            Assert.Throws<IOException>(() => OutputLock.Acquire(output));
        }
        finally
        {
            if (!holder.HasExited) holder.Kill();
            holder.Dispose();
        }
        Assert.False(File.Exists(OutputLock.PathFor(output)));
    }

    [Fact]
    public async Task Never_mix_two_runs_a_cache_writer_waits_for_the_lock_holder_then_proceeds()
    {
        using var dir = new TempDir();
        var entry = dir.File("model.onnx");
        var first = OutputLock.Acquire(entry);
        var waiting = OutputLock.AcquireAsync(entry);
        await Task.Delay(600);
        Assert.False(waiting.IsCompleted);          // still held by the first writer
        first.Dispose();
        using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(OutputLock.PathFor(entry), second.Path);
        using var cts = new CancellationTokenSource(300);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OutputLock.AcquireAsync(entry, cts.Token));
    }
}
