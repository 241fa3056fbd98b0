// MSBuild inline task (RoslynCodeTaskFactory) used by SSL4Eco.Training.LibTorchFix.targets. Not part of the
// SSL4Eco.Training assembly (the project removes build/** from compilation).
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>Patches libLibTorchSharp.so so it loads with a libstdc++ that lacks GLIBCXX_3.4.32.</summary>
public sealed class SSL4EcoPatchLibTorchSharp : Task
{
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const string MissingSymbol = "_ZSt21ios_base_library_initv";
    private const string ShimName = "libssl4eco_glibcxx_shim.so";

    /// <summary>The libLibTorchSharp.so files to patch.</summary>
    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The shim's C++ source.</summary>
    [Required] public string ShimSource { get; set; } = "";

    /// <summary>Where the compiled shim is cached.</summary>
    [Required] public string ShimDirectory { get; set; } = "";

    /// <inheritdoc />
    public override bool Execute()
    {
        string? systemLib = FindSystemLibStdCxx();
        if (systemLib == null)
        {
            Log.LogMessage(MessageImportance.Low, "SSL4Eco libtorch fix: no system libstdc++.so.6 found; nothing to do.");
            return true;
        }
        if (FileContains(systemLib, Encoding.ASCII.GetBytes(MissingVersion + "\0")))
        {
            Log.LogMessage(MessageImportance.Low, "SSL4Eco libtorch fix: " + systemLib + " provides " + MissingVersion + "; no patch needed.");
            return true;
        }

        string? shim = null;
        foreach (var item in Libraries)
        {
            string lib = Path.GetFullPath(item.ItemSpec);
            string dir = Path.GetDirectoryName(lib)!;
            string shimTarget = Path.Combine(dir, ShimName);
            bool needsVersion;
            try { needsVersion = VersionNeed(lib, MissingVersion, remove: false); }
            catch (Exception e) { Log.LogError("SSL4Eco libtorch fix: cannot read the ELF version needs of " + lib + ": " + e.Message); return false; }

            shim ??= BuildShim();
            if (shim == null) return false;
            if (!File.Exists(shimTarget) || new FileInfo(shimTarget).Length != new FileInfo(shim).Length)
                File.Copy(shim, shimTarget, overwrite: true);
            if (!needsVersion)
            {
                Log.LogMessage(MessageImportance.Low, "SSL4Eco libtorch fix: " + lib + " is already patched.");
                continue;
            }

            if (!Run("patchelf", "--clear-symbol-version " + MissingSymbol + " \"" + lib + "\"", out _)) return false;
            if (!Run("patchelf", "--print-needed \"" + lib + "\"", out string needed)) return false;
            if (!needed.Contains(ShimName) && !Run("patchelf", "--add-needed " + ShimName + " \"" + lib + "\"", out _)) return false;
            try { VersionNeed(lib, MissingVersion, remove: true); }
            catch (Exception e) { Log.LogError("SSL4Eco libtorch fix: cannot edit the ELF version needs of " + lib + ": " + e.Message); return false; }
            Log.LogMessage(MessageImportance.High, "SSL4Eco libtorch fix: patched " + lib + " (system libstdc++ lacks " + MissingVersion + ").");
        }
        return !Log.HasLoggedErrors;
    }

    private static string? FindSystemLibStdCxx()
    {
        string[] candidates =
        {
            "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        foreach (var c in candidates) if (File.Exists(c)) return c;
        return null;
    }

    private static bool FileContains(string path, byte[] pattern)
    {
        byte[] data = File.ReadAllBytes(path);
        for (int i = 0; i + pattern.Length <= data.Length; i++)
        {
            int k = 0;
            while (k < pattern.Length && data[i + k] == pattern[k]) k++;
            if (k == pattern.Length) return true;
        }
        return false;
    }

    private string? BuildShim()
    {
        Directory.CreateDirectory(ShimDirectory);
        string output = Path.Combine(ShimDirectory, ShimName);
        if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(ShimSource)) return output;
        string tmp = output + ".tmp";
        if (!Run("g++", "-O2 -shared -fPIC -o \"" + tmp + "\" \"" + ShimSource + "\"", out _)) return null;
        Replace(tmp, output);
        return output;
    }

    private bool Run(string tool, string arguments, out string stdout)
    {
        stdout = "";
        var psi = new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        try
        {
            using var p = Process.Start(psi)!;
            var errTask = p.StandardError.ReadToEndAsync();
            stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                Log.LogError("SSL4Eco libtorch fix: '" + tool + " " + arguments + "' failed (exit " + p.ExitCode + "): " + errTask.Result.Trim());
                return false;
            }
            return true;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Log.LogError("SSL4Eco libtorch fix: the system libstdc++ lacks " + MissingVersion + ", which TorchSharp's libLibTorchSharp.so needs, " +
                "and '" + tool + "' is not installed. Install g++ and patchelf (Debian/Ubuntu: apt-get install g++ patchelf), " +
                "or set the MSBuild property SSL4EcoSkipLibTorchFix=true to skip the patch.");
            return false;
        }
    }

    /// <summary>
    /// Finds (and with <paramref name="remove"/> unlinks) the vernaux entry named <paramref name="version"/> in the
    /// SHT_GNU_verneed section of a 64-bit little-endian ELF file. Returns whether the entry was present.
    /// </summary>
    private static bool VersionNeed(string path, string version, bool remove)
    {
        byte[] f = File.ReadAllBytes(path);
        if (f.Length < 64 || f[0] != 0x7f || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (f[4] != 2 || f[5] != 1) throw new InvalidDataException("not a 64-bit little-endian ELF file");
        long shoff = (long)BitConverter.ToUInt64(f, 0x28);
        int shentsize = BitConverter.ToUInt16(f, 0x3A), shnum = BitConverter.ToUInt16(f, 0x3C);
        const uint ShtGnuVerneed = 0x6ffffffe;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(f, (int)sh + 4) != ShtGnuVerneed) continue;
            long secOff = (long)BitConverter.ToUInt64(f, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(f, (int)sh + 0x28);
            long strOff = (long)BitConverter.ToUInt64(f, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = secOff;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(f, (int)vn + 2);
                uint aux = BitConverter.ToUInt32(f, (int)vn + 8), next = BitConverter.ToUInt32(f, (int)vn + 12);
                long prev = -1, a = vn + aux;
                for (int k = 0; k < cnt; k++)
                {
                    uint name = BitConverter.ToUInt32(f, (int)a + 8), anext = BitConverter.ToUInt32(f, (int)a + 12);
                    if (ReadCString(f, strOff + name) == version)
                    {
                        if (!remove) return true;
                        if (prev < 0)
                        {
                            // First entry: move vn_aux to the next one.
                            WriteU32(f, vn + 8, anext == 0 ? 0 : aux + anext);
                        }
                        else
                        {
                            uint prevNext = BitConverter.ToUInt32(f, (int)prev + 12);
                            WriteU32(f, prev + 12, anext == 0 ? 0 : prevNext + anext);
                        }
                        f[vn + 2] = (byte)((cnt - 1) & 0xff); f[vn + 3] = (byte)((cnt - 1) >> 8);
                        string tmp = path + ".ssl4eco-tmp";
                        File.WriteAllBytes(tmp, f);
                        Replace(tmp, path);
                        return true;
                    }
                    prev = a;
                    if (anext == 0) break;
                    a += anext;
                }
                if (next == 0) break;
                vn += next;
            }
            return false;
        }
        return false;
    }

    private static void Replace(string source, string destination)
    {
        if (File.Exists(destination)) File.Delete(destination);
        File.Move(source, destination);
    }

    private static string ReadCString(byte[] f, long offset)
    {
        int end = (int)offset;
        while (end < f.Length && f[end] != 0) end++;
        return Encoding.ASCII.GetString(f, (int)offset, end - (int)offset);
    }

    private static void WriteU32(byte[] f, long offset, uint value)
    {
        f[offset] = (byte)value; f[offset + 1] = (byte)(value >> 8); f[offset + 2] = (byte)(value >> 16); f[offset + 3] = (byte)(value >> 24);
    }
}
