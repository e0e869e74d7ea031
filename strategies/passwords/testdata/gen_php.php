<?php
// Write php.json: hashes made by PHP itself (Debian php-cli): password_hash for bcrypt
// and argon2, crypt() for md5/sha256/sha512-crypt, WordPress 6.8's wp_hash_password
// scheme ($wp$2y$), and Drupal 7's _password_crypt ($S$ and U$S$).
//
// Run from this directory:  php gen_php.php
//
// The WordPress and Drupal functions below are transcribed from WordPress 6.8
// (wp-includes/pluggable.php, wp_hash_password) and Drupal 7 (includes/password.inc):
// neither project is packaged in Debian; the primitives they call are PHP's own.

function wp_hash_password_68(string $password): string {
    $password_to_hash = base64_encode(hash_hmac('sha384', $password, 'wp-sha384', true));
    return '$wp' . password_hash($password_to_hash, PASSWORD_BCRYPT, ['cost' => 5]);
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function drupal_base64_encode(string $input, int $count): string {
    $output = '';
    $i = 0;
    do {
        $value = ord($input[$i++]);
        $output .= ITOA64[$value & 0x3f];
        if ($i < $count) $value |= ord($input[$i]) << 8;
        $output .= ITOA64[($value >> 6) & 0x3f];
        if ($i++ >= $count) break;
        if ($i < $count) $value |= ord($input[$i]) << 16;
        $output .= ITOA64[($value >> 12) & 0x3f];
        if ($i++ >= $count) break;
        $output .= ITOA64[($value >> 18) & 0x3f];
    } while ($i < $count);
    return $output;
}

function drupal_password_crypt(string $algo, string $password, int $count_log2): string {
    $setting = '$S$' . ITOA64[$count_log2] . drupal_base64_encode(random_bytes(6), 6);
    $salt = substr($setting, 4, 8);
    $count = 1 << $count_log2;
    $hash = hash($algo, $salt . $password, true);
    do {
        $hash = hash($algo, $hash . $password, true);
    } while (--$count);
    $len = strlen($hash);
    $output = $setting . drupal_base64_encode($hash, $len);
    return substr($output, 0, 55); // DRUPAL_HASH_LENGTH
}

$passwords = ['correct horse battery staple', 'pässwörd ✓ 密码'];
$src = 'PHP ' . PHP_VERSION . ' ';
$v = [];
foreach ($passwords as $pw) {
    $add = function (string $format, string $hash, string $how) use (&$v, $pw, $src) {
        $v[] = ['format' => $format, 'hash' => $hash, 'password' => $pw, 'wrong' => $pw . '!', 'source' => $src . $how];
    };
    $h = password_hash($pw, PASSWORD_BCRYPT, ['cost' => 5]);
    assert(password_verify($pw, $h));
    $add('bcrypt', $h, 'password_hash(PASSWORD_BCRYPT)');
    $add('argon2id', password_hash($pw, PASSWORD_ARGON2ID, ['memory_cost' => 2048, 'time_cost' => 2, 'threads' => 1]), 'password_hash(PASSWORD_ARGON2ID)');
    $add('argon2i', password_hash($pw, PASSWORD_ARGON2I, ['memory_cost' => 2048, 'time_cost' => 2, 'threads' => 1]), 'password_hash(PASSWORD_ARGON2I)');
    $add('md5_crypt', crypt($pw, '$1$' . substr(bin2hex(random_bytes(4)), 0, 8) . '$'), 'crypt($1$)');
    $add('sha256_crypt', crypt($pw, '$5$rounds=6000$' . bin2hex(random_bytes(8)) . '$'), 'crypt($5$rounds=6000)');
    $add('sha512_crypt', crypt($pw, '$6$' . bin2hex(random_bytes(6)) . '$'), 'crypt($6$)');
    $add('wordpress_bcrypt', wp_hash_password_68($pw), 'WordPress 6.8 wp_hash_password');
    $add('drupal7', drupal_password_crypt('sha512', $pw, 10), 'Drupal 7 user_hash_password');
    $add('drupal7', 'U' . drupal_password_crypt('sha512', md5($pw), 9), 'Drupal 7 update_7000 U$S$ rehash of an md5');
}
// Published vectors from hashcat's example hashes (https://hashcat.net/wiki/doku.php?id=example_hashes),
// made by the real Drupal 7 and phpass code; password "hashcat".
$v[] = ['format' => 'drupal7', 'hash' => '$S$C33783772bRXEx1aCsvY.dqgaaSu76XmVlKrW9Qu8IQlvxHlmzLf', 'password' => 'hashcat', 'wrong' => 'Hashcat', 'source' => 'hashcat example hash, mode 7900 (Drupal7)'];
$v[] = ['format' => 'phpass', 'hash' => '$P$984478476IagS59wHZvyQMArzfx58u.', 'password' => 'hashcat', 'wrong' => 'Hashcat', 'source' => 'hashcat example hash, mode 400 (phpass)'];
file_put_contents('php.json', json_encode($v, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n");
echo 'wrote ' . count($v) . " vectors\n";
